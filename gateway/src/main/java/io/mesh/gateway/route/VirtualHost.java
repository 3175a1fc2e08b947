package io.mesh.gateway.route;

import java.util.List;

/** A virtual host: domains it answers, its routes in order, and whether plain HTTP must be redirected. */
public record VirtualHost(String name, List<String> domains, List<Route> routes, boolean requireTls,
        HeaderMutation requestHeaders, HeaderMutation responseHeaders) {

    public Route match(RequestView request) {
        for (Route r : routes) {
            if (r.matches(request)) {
                return r;
            }
        }
        return null;
    }
}
