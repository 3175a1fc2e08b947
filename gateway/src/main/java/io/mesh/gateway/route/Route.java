package io.mesh.gateway.route;

import java.util.List;

/**
 * One route of a virtual host: all conditions must hold; the first matching route wins.
 *
 * @param cors its CORS policy (the CORS filter's per-route config), or null
 */
public record Route(String name, PathMatch path, List<HeaderMatch> headers, List<HeaderMatch> queryParams,
        RouteAction action, FaultPolicy fault, HeaderMutation requestHeaders, HeaderMutation responseHeaders,
        CorsPolicy cors) {

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
        return true;
    }
}
