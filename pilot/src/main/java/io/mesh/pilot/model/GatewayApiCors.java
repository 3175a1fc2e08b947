package io.mesh.pilot.model;

import io.mesh.config.KubernetesHttpRoute;
import io.mesh.config.StringMatch;
import io.mesh.config.VirtualService;
import java.time.Duration;
import java.util.List;

/**
 * An HTTPRoute's CORS filter as the VirtualService route's {@code corsPolicy}, as istiod's createCorsFilter writes it
 * (with the wildcard origins and unmatched preflights of its 2026 fixes, istio#59018 and #59026): an origin without a
 * wildcard is an exact match; "*" is a regex that matches any well-formed origin {@code SCHEME://HOST[:PORT]} (never a
 * path, a query or stray characters), and a "*" in an origin's host stands for one or more DNS labels; methods and
 * headers are copied; {@code maxAge} in seconds when set; {@code allowCredentials} only when true; a preflight from
 * another origin is not forwarded to the backend (Istio's {@code unmatchedPreflights: IGNORE}). Pure.
 */
final class GatewayApiCors {
    /** What the "*" of an origin's host stands for: one or more DNS labels. */
    static final String WILDCARD_HOST = "[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*";
    /** Any well-formed origin: a scheme, a host name or bracketed IPv6 address, and an optional port. */
    static final String ANY_ORIGIN = "[A-Za-z][A-Za-z0-9+.-]*://(" + WILDCARD_HOST + "|\\[[0-9A-Fa-f:.]+\\])"
            + "(:[0-9]{1,5})?";

    private GatewayApiCors() {
    }

    static VirtualService.CorsPolicy policy(KubernetesHttpRoute.Cors c) {
        List<StringMatch> origins = c.allowOrigins().stream().map(GatewayApiCors::origin).toList();
        return new VirtualService.CorsPolicy(origins, c.allowMethods(), c.allowHeaders(), c.exposeHeaders(),
                c.maxAge() == null ? null : Duration.ofSeconds(c.maxAge()), c.allowCredentials(), false);
    }

    static StringMatch origin(String origin) {
        if (origin.equals("*")) {
            return new StringMatch(StringMatch.Type.REGEX, ANY_ORIGIN);
        }
        if (!origin.contains("*")) {
            return new StringMatch(StringMatch.Type.EXACT, origin);
        }
        StringBuilder regex = new StringBuilder();
        for (char ch : origin.toCharArray()) {
            if (ch == '*') {
                regex.append(WILDCARD_HOST);
            } else {
                if ("\\.+?()[]{}|^$".indexOf(ch) >= 0) {
                    regex.append('\\');
                }
                regex.append(ch);
            }
        }
        return new StringMatch(StringMatch.Type.REGEX, regex.toString());
    }
}
