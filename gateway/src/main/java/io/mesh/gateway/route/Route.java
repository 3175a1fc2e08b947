package io.mesh.gateway.route;

import java.util.List;
import java.util.function.Predicate;

/**
 * One route of a virtual host: all conditions must hold; the first matching route wins.
 *
 * @param cors     its CORS policy (the CORS filter's per-route config), or null
 * @param metadata its {@code dynamic_metadata} matches, on {@link RequestView#dynamicMetadata} (all must hold): Istio's
 *                 JWT claim routing, read after the JWT filter wrote the request's {@code istio_authn} metadata
 * @param statefulSession the stateful session filter's per-route config (the route's own, else its virtual host's), or
 *                 null: the chain's applies ({@link StatefulSession#effective})
 */
public record Route(String name, PathMatch path, List<HeaderMatch> headers, List<HeaderMatch> queryParams,
        RouteAction action, FaultPolicy fault, HeaderMutation requestHeaders, HeaderMutation responseHeaders,
        CorsPolicy cors, List<Predicate<RequestView>> metadata, StatefulSession statefulSession) {

    public boolean matches(RequestView request) {
        if (!path.matches(request.path())) {
            return false;
        }
        for (HeaderMatch h : headers) {
            if (!h.matches(request.header(h.name()))) {
                return false;
            }
        }
        for (HeaderMatch q : queryParams) {
            if (!q.matches(request.queryParam(q.name()))) {
                return false;
            }
        }
        for (Predicate<RequestView> m : metadata) {
            if (!m.test(request)) {
                return false;
            }
        }
        return true;
    }
}
