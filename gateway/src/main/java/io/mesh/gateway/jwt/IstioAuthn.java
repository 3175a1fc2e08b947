package io.mesh.gateway.jwt;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Istio's {@code istio_authn} HTTP filter after jwt_authn: the request's authenticated JWT as Istio's attributes, in
 * the dynamic metadata namespace {@value #FILTER} that AuthorizationPolicy's RBAC reads ({@code requestPrincipals},
 * {@code request.auth.*} conditions). The JWT is the first verified one in the providers' config order.
 *
 * <p>Claims are stored as Istio's authn filter stores them ({@code AuthnUtils::ProcessJwtPayload}), so that RBAC's
 * {@code list_match} works on any claim: a string claim is the list of its space-separated parts ("read write" is
 * ["read", "write"], a string without spaces a one-element list), a list of strings is that list, an object is a
 * nested struct of its claims processed the same way (so {@code request.auth.claims[a][b]} works), and anything else
 * (numbers, booleans, lists with other than strings, empty strings and lists) is left out, as there.
 */
public final class IstioAuthn {

    public static final String FILTER = "istio_authn";

    private IstioAuthn() {
    }

    /** The attributes for the first verified token (by provider order), or null when none verified. */
    public static Map<String, Object> attributes(List<JwtAuthn.Verified> verified, List<JwtProvider> providers) {
        JwtAuthn.Verified first = null;
        int best = Integer.MAX_VALUE;
        for (JwtAuthn.Verified v : verified) {
            int i = providers.indexOf(v.provider());
            if (first == null || (i >= 0 && i < best)) {
                first = v;
                best = i < 0 ? Integer.MAX_VALUE : i;
            }
        }
        return first == null ? null : attributes(first.jwt().payload());
    }

    static Map<String, Object> attributes(JsonObject payload) {
        Map<String, Object> claims = claims(payload);
        Map<String, Object> out = new LinkedHashMap<>();
        String iss = first(claims.get("iss"));
        String sub = first(claims.get("sub"));
        if (iss != null && sub != null) {
            out.put("request.auth.principal", iss + "/" + sub);
        }
        if (claims.get("aud") instanceof List<?> aud) {
            out.put("request.auth.audiences", aud);
        }
        String azp = first(claims.get("azp"));
        if (azp != null) {
            out.put("request.auth.presenter", azp);
        }
        out.put("request.auth.claims", claims);
        out.put("request.auth.raw_claims", payload.encode());
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, Object> claims(JsonObject o) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : o) {
            Object v = e.getValue();
            if (v instanceof String s) {
                List<Object> parts = new ArrayList<>();
                for (String p : s.split(" ")) {
                    if (!p.isEmpty()) {
                        parts.add(p);
                    }
                }
                if (!parts.isEmpty()) {
                    out.put(e.getKey(), Collections.unmodifiableList(parts));
                }
            } else if (v instanceof JsonArray a && !a.isEmpty() && a.stream().allMatch(x -> x instanceof String)) {
                List<Object> strings = new ArrayList<>(a.size());
                a.forEach(strings::add);
                out.put(e.getKey(), Collections.unmodifiableList(strings));
            } else if (v instanceof JsonObject nested) {
                out.put(e.getKey(), claims(nested));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static String first(Object list) {
        return list instanceof List<?> l && !l.isEmpty() ? (String) l.get(0) : null;
    }
}
