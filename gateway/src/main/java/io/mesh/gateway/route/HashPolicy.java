package io.mesh.gateway.route;

/**
 * What consistent-hash load balancing hashes: a header, a cookie, the source IP or a query parameter.
 *
 * @param path       a cookie's path, for the cookie the proxy makes (or null)
 * @param ttlSeconds a cookie's TTL: when the request has no such cookie the proxy makes one, hashes on it and sets it
 *                   on the response (0: a session cookie), as Envoy does; -1: no TTL, the cookie is never made
 */
public record HashPolicy(Kind kind, String name, String path, long ttlSeconds) {

    public enum Kind { HEADER, COOKIE, SOURCE_IP, QUERY_PARAMETER }

    public HashPolicy(Kind kind, String name) {
        this(kind, name, null, -1);
    }

    /** The Set-Cookie value for a made cookie, in Envoy's form: {@code name="value"; Max-Age=N; Path=P; HttpOnly}. */
    public String setCookie(String value) {
        return name + "=\"" + value + "\"" + (ttlSeconds > 0 ? "; Max-Age=" + ttlSeconds : "")
                + (path == null || path.isEmpty() ? "" : "; Path=" + path) + "; HttpOnly";
    }
}
