package io.mesh.gateway.route;

import java.util.List;

/**
 * Reading a request's cookies as Envoy's {@code Http::Utility::parseCookieValue} does, for every filter that takes a
 * value from a cookie (a JWT location, a consistent-hash cookie, a stateful session): the first cookie of the name
 * across the Cookie headers, trimmed, its surrounding double quotes removed. Pure.
 */
public final class Cookies {
    private Cookies() {
    }

    /** The value of cookie {@code name} in the request's {@code cookie} header values, or null. */
    public static String value(List<String> cookieHeaders, String name) {
        for (String header : cookieHeaders) {
            int i = 0;
            while (i < header.length()) {
                int end = header.indexOf(';', i);
                if (end < 0) {
                    end = header.length();
                }
                int eq = header.indexOf('=', i);
                if (eq > i && eq < end && header.substring(i, eq).trim().equals(name)) {
                    String v = header.substring(eq + 1, end).trim();
                    return v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"'
                            ? v.substring(1, v.length() - 1) : v;
                }
                i = end + 1;
            }
        }
        return null;
    }
}
