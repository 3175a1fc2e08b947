package io.mesh.gateway.route;

import java.util.List;

/**
 * A route's CORS policy, as Envoy's CORS filter applies it (Istio's corsPolicy). A request with an {@code Origin}
 * that an allowed-origin matcher matches (or one that matches "*") is a CORS request: a preflight ({@code OPTIONS}
 * with {@code Access-Control-Request-Method}) is answered by the proxy, and any other response gets
 * {@code Access-Control-Allow-Origin} (the request's origin), {@code -Allow-Credentials} and {@code -Expose-Headers}.
 *
 * @param allowMethods  comma-separated, as Envoy holds it; "*" echoes the preflight's requested method
 * @param allowHeaders  comma-separated; "*" echoes the preflight's requested headers
 * @param maxAge        seconds, or empty
 * @param forwardUnmatchedPreflights a preflight from an origin not allowed goes to the upstream (true) or is answered
 *                      200 without CORS headers
 */
public record CorsPolicy(List<StringMatch> allowOrigins, String allowMethods, String allowHeaders,
        String exposeHeaders, String maxAge, boolean allowCredentials, boolean forwardUnmatchedPreflights) {

    public CorsPolicy {
        allowOrigins = List.copyOf(allowOrigins);
    }

    public boolean allows(String origin) {
        for (StringMatch m : allowOrigins) {
            if (m.matches("*") || m.matches(origin)) {
                return true;
            }
        }
        return false;
    }
}
