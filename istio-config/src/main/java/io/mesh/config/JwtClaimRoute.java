package io.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;

/**
 * Istio's JWT claim routing names: a VirtualService header match named {@code @request.auth.claims.NAME} (nested:
 * {@code @request.auth.claims.a.b}, or {@code @request.auth.claims[a][b]}) matches a claim of the request's verified
 * JWT, not a header. The prefix is case-insensitive, as istiod reads it; claim names keep their case (JWT claims are
 * case-sensitive), so the parser stores such names as {@link #PREFIX} followed by the name as written.
 */
public final class JwtClaimRoute {
    /** The pseudo-header prefix, as istiod spells it. */
    public static final String PREFIX = "@request.auth.claims";

    private JwtClaimRoute() {
    }

    /** Whether a header-match name is a claim name (well formed or not): it starts with {@link #PREFIX}. */
    public static boolean isClaimName(String name) {
        return name.toLowerCase(Locale.ROOT).startsWith(PREFIX);
    }

    /**
     * The claim path a header-match name names ({@code ["groups"]}, {@code ["a", "b"]}), or null when the name is not
     * a claim name or is one without a claim ({@code @request.auth.claims}) or with an empty segment.
     */
    public static List<String> claims(String name) {
        if (!isClaimName(name)) {
            return null;
        }
        String rest = name.substring(PREFIX.length());
        List<String> out;
        if (rest.startsWith(".") && rest.length() > 1) {
            out = List.of(rest.substring(1).split("\\.", -1));
        } else if (rest.startsWith("[") && rest.endsWith("]") && rest.length() > 2) {
            out = List.of(rest.substring(1, rest.length() - 1).split("]\\[", -1));
        } else {
            return null;
        }
        return out.stream().anyMatch(String::isEmpty) ? null : out;
    }

    /** {@code name} with its prefix in istiod's spelling and the claim part as written. */
    static String normalize(String name) {
        return PREFIX + name.substring(PREFIX.length());
    }

    /**
     * A header match's key: the header name in lower case, or a JWT claim name with the claim
     * as written; null for another {@code @} name or a claim name without a claim (reported).
     */
    static String headerKey(String name, SpecReader s) {
        if (isClaimName(name)) {
            if (claims(name) == null) {
                s.problems().error(s.at(name), "\"" + name + "\" names no claim: write " + PREFIX
                        + ".NAME (a nested claim: .A.B or [A][B])");
                return null;
            }
            return normalize(name);
        }
        if (name.startsWith("@")) {
            s.problems().error(s.at(name), "\"" + name + "\" is not a valid header name: the only @ names are JWT "
                    + "claims, " + PREFIX + ".NAME (on gateways)");
            return null;
        }
        return name.toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * As istiod: JWT claim routing (claim names) needs a gateway's JWT filter, so a VirtualService bound to no
     * gateway but the mesh (sidecars) must not use it.
     */
    static void requireGateway(RawResource raw, List<String> gateways, Problems p) {
        JsonNode http = raw.spec() == null ? null : raw.spec().get("http");
        if (http == null || !http.isArray()) {
            return;
        }
        for (int i = 0; i < http.size(); i++) {
            JsonNode matches = http.get(i).get("match");
            for (int j = 0; matches != null && matches.isArray() && j < matches.size(); j++) {
                for (String field : List.of("headers", "withoutHeaders")) {
                    JsonNode names = matches.get(j).get(field);
                    if (names == null || !names.isObject()) {
                        continue;
                    }
                    for (var it = names.fieldNames(); it.hasNext();) {
                        String name = it.next();
                        if (JwtClaimRoute.isClaimName(name)) {
                            p.error("spec.http[" + i + "].match[" + j + "]." + field + "." + name,
                                    "JWT claim based routing is only supported for gateways, found no gateways: "
                                            + gateways);
                        }
                    }
                }
            }
        }
    }
}
