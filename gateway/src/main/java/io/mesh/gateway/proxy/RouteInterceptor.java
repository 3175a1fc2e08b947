package io.mesh.gateway.proxy;

import io.mesh.gateway.route.Route;
import io.mesh.gateway.route.RouteAction;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.route.VirtualHost;

/**
 * Picks the virtual host and route, once per request, from the immutable table. Answers itself for no
 * route (404 NR), CORS preflights ({@link Cors}), {@code require_tls} (Istio's httpsRedirect: 301), redirects and
 * direct responses.
 */
final class RouteInterceptor implements ProxyInterceptor {

    @Override
    public void onRequest(ProxyExchange ex) {
        RouteTable table = ex.routeTable();
        VirtualHost vh = table == null ? null : table.virtualHost(ex.authority());
        // As Envoy: a virtual host that requires TLS redirects plain HTTP before any route is matched (Istio's
        // httpsRedirect servers have such hosts without routes, for names no VirtualService routes).
        if (vh != null && vh.requireTls() && !ex.request.isSSL()) {
            ex.virtualHost = vh;
            ex.codeDetails = "direct_response";   // Envoy's require_tls redirect is a direct response entry
            ex.sendRedirect(301, "https://" + hostOnly(ex.authority()) + ex.request.uri());
            return;
        }
        Route route = vh == null ? null : vh.match(ex);
        if (route == null) {
            ex.sendLocal(404, ResponseFlag.NR, "no route\n");
            return;
        }
        ex.virtualHost = vh;
        ex.route = route;
        if (route.cors() != null && Cors.onRequest(ex, route.cors())) {
            return;
        }
        RouteAction action = route.action();
        if (action instanceof RouteAction.Direct d) {
            ex.codeDetails = "direct_response";
            ex.sendLocal(d.status(), null, d.body());
        } else if (action instanceof RouteAction.Redirect r) {
            ex.codeDetails = "direct_response";
            ex.sendRedirect(r.status(), location(ex, r));
        } else {
            ex.forward = (RouteAction.Forward) action;
            ex.session = StickySession.of(io.mesh.gateway.route.StatefulSession.effective(
                    ex.chain == null ? null : ex.chain.statefulSession(), route.statefulSession()),
                    ex.request.headers(), ex.path());
            ex.next();
        }
    }

    private static String hostOnly(String authority) {
        int colon = authority.lastIndexOf(':');
        return colon > 0 && authority.indexOf(']') < colon ? authority.substring(0, colon) : authority;
    }

    private static String location(ProxyExchange ex, RouteAction.Redirect r) {
        String scheme = r.scheme() != null ? r.scheme() : ex.request.isSSL() ? "https" : "http";
        String host = r.host() != null ? r.host() : hostOnly(ex.authority());
        int port = r.port();
        if (port == 0 && r.host() == null && r.scheme() == null) {
            String a = ex.authority();
            int colon = a.lastIndexOf(':');
            if (colon > 0 && a.indexOf(']') < colon) {
                port = Integer.parseInt(a.substring(colon + 1));
            }
        }
        String path = ex.path();
        if (r.path() != null) {
            path = r.path();
        } else if (r.prefixRewrite() != null && ex.route.path().kind() != io.mesh.gateway.route.PathMatch.Kind.REGEX) {
            path = r.prefixRewrite() + path.substring(Math.min(path.length(), ex.route.path().value().length()));
        }
        String query = ex.request.query();
        boolean defaultPort = port == 0 || (scheme.equals("https") && port == 443) || (scheme.equals("http") && port == 80);
        return scheme + "://" + host + (defaultPort ? "" : ":" + port) + path
                + (!r.stripQuery() && query != null && !path.contains("?") ? "?" + query : "");
    }
}
