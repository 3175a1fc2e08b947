package io.mesh.gateway.proxy;

import io.mesh.gateway.route.CorsPolicy;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;

/**
 * Envoy's CORS filter, for a route with a {@link CorsPolicy}. It runs once the route is chosen, before faults and
 * the route's own action: a preflight from an allowed origin is answered here (200 with the policy's
 * {@code Access-Control-Allow-*} headers and no upstream request), and every other response to an allowed origin
 * gets {@code Access-Control-Allow-Origin} (the request's origin), {@code -Allow-Credentials} and
 * {@code -Expose-Headers}. Requests from other origins pass through untouched (a preflight too, unless the policy
 * says not to forward it: then it gets a 200 without CORS headers).
 */
final class Cors {
    private Cors() {
    }

    /** True when the request was answered (a preflight). */
    static boolean onRequest(ProxyExchange ex, CorsPolicy cors) {
        String origin = ex.request.getHeader("origin");
        if (origin == null || origin.isEmpty()) {
            return false;
        }
        String requestedMethod = ex.request.getHeader("access-control-request-method");
        boolean preflight = ex.request.method() == HttpMethod.OPTIONS && requestedMethod != null
                && !requestedMethod.isEmpty();
        if (!cors.allows(origin)) {
            if (preflight && !cors.forwardUnmatchedPreflights()) {
                ex.sendLocal(200, null, "");
                return true;
            }
            return false;
        }
        ex.corsOrigin = origin;
        if (!preflight) {
            return false;
        }
        ex.corsPreflight = true;
        MultiMap h = ex.response.headers();
        if (!cors.allowMethods().isEmpty()) {
            h.set("access-control-allow-methods", cors.allowMethods().equals("*") ? requestedMethod : cors.allowMethods());
        }
        if (!cors.allowHeaders().isEmpty()) {
            String requested = ex.request.getHeader("access-control-request-headers");
            h.set("access-control-allow-headers", cors.allowHeaders().equals("*")
                    ? (requested == null ? "" : requested) : cors.allowHeaders());
        }
        if (!cors.maxAge().isEmpty()) {
            h.set("access-control-max-age", cors.maxAge());
        }
        ex.sendLocal(200, null, "");
        return true;
    }

    /** The headers every response to an allowed origin carries (a preflight's: without Expose-Headers). */
    static void onResponse(CorsPolicy cors, String origin, boolean preflight, MultiMap h) {
        h.set("access-control-allow-origin", origin);
        if (cors.allowCredentials()) {
            h.set("access-control-allow-credentials", "true");
        }
        if (!preflight && !cors.exposeHeaders().isEmpty()) {
            h.set("access-control-expose-headers", cors.exposeHeaders());
        }
    }
}
