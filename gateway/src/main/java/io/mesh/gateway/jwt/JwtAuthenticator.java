package io.mesh.gateway.jwt;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One request's run of the jwt_authn filter through a rule's requirement tree, with Envoy's semantics: a provider
 * verifies every token found at its locations (all must verify), {@code requires_any} passes on its first passing
 * child and otherwise reports the most telling failure (any error before "issuer not configured" before "missing"),
 * {@code allow_missing} turns a final "missing" into a pass. Each token that verifies adds its headers and metadata
 * at once, as Envoy's authenticator does. Confined to the request's event loop; used once.
 */
final class JwtAuthenticator {

    private final List<JwtProvider> providers;
    private final JwtRequest request;
    private final long now;
    private final List<JwtAuthn.Verified> verified = new ArrayList<>(1);
    private Map<String, Object> metadata;

    JwtAuthenticator(List<JwtProvider> providers, JwtRequest request, long nowSeconds) {
        this.providers = providers;
        this.request = request;
        this.now = nowSeconds;
    }

    JwtAuthn.Outcome run(JwtRequirement requires) {
        JwtStatus status = verify(requires);
        return new JwtAuthn.Outcome(status, List.copyOf(verified), metadata == null ? Map.of() : Map.copyOf(metadata));
    }

    private JwtStatus verify(JwtRequirement q) {
        if (q instanceof JwtRequirement.Provider p) {
            return authenticate(p.extractor(), p.provider(), p.audiences(), false, false);
        } else if (q instanceof JwtRequirement.AllowMissing a) {
            return authenticate(a.extractor(), null, null, false, true);
        } else if (q instanceof JwtRequirement.AllowMissingOrFailed a) {
            return authenticate(a.extractor(), null, null, true, true);
        } else if (q instanceof JwtRequirement.AnyOf any) {
            return any(any);
        } else if (q instanceof JwtRequirement.AllOf all) {
            for (JwtRequirement c : all.children()) {
                JwtStatus s = verify(c);
                if (s != JwtStatus.OK) {
                    return s;
                }
            }
            return JwtStatus.OK;
        }
        return JwtStatus.OK;   // AllowAll
    }

    private JwtStatus any(JwtRequirement.AnyOf any) {
        JwtStatus result = JwtStatus.MISSING;
        for (JwtRequirement c : any.children()) {
            JwtStatus s = verify(c);
            if (s == JwtStatus.OK) {
                return s;
            }
            // Prefer an error that is neither "missing" nor "unknown issuer"; "unknown issuer" before "missing".
            if ((s != JwtStatus.MISSING && s != JwtStatus.UNKNOWN_ISSUER) || result == JwtStatus.MISSING) {
                result = s;
            }
        }
        if (any.allowMissingOrFailed() || (any.allowMissing() && result == JwtStatus.MISSING)) {
            return JwtStatus.OK;
        }
        return result;
    }

    /** Envoy's authenticator: {@code provider} null = the token's issuer picks the provider (the allow_* verifiers). */
    private JwtStatus authenticate(JwtExtractor extractor, JwtProvider provider, List<String> audiences,
            boolean allowFailed, boolean allowMissing) {
        extractor.sanitize(request);
        List<JwtExtractor.Token> tokens = extractor.extract(request);
        JwtStatus status = JwtStatus.MISSING;
        // Every token found must verify: a good token next to a bad one must not carry the bad one to the upstream.
        while (!tokens.isEmpty()) {
            status = one(tokens.remove(tokens.size() - 1), provider, audiences);
            if (status != JwtStatus.OK && !allowFailed && !allowMissing) {
                break;
            }
        }
        if (allowFailed || (allowMissing && status == JwtStatus.MISSING)) {
            return JwtStatus.OK;
        }
        return status;
    }

    private JwtStatus one(JwtExtractor.Token token, JwtProvider provider, List<String> audiences) {
        // A token this provider's keys verified before is not parsed or verified again; everything else still is.
        Jwt jwt = provider == null ? null : provider.verified().get(token.value());
        boolean signed = jwt != null;
        if (jwt == null) {
            try {
                jwt = Jwt.parse(token.value());
            } catch (Jwt.Malformed e) {
                return e.status();
            }
        }
        if (!token.location().allows(jwt.iss())) {
            return JwtStatus.UNKNOWN_ISSUER;
        }
        JwtProvider p = provider != null ? provider : byIssuer(jwt.iss());
        if (p == null) {
            return JwtStatus.UNKNOWN_ISSUER;
        }
        JwtStatus s = jwt.timeStatus(now, p.clockSkewSeconds());
        if (s != JwtStatus.OK) {
            return s;
        }
        if (!JwtProvider.audiencesAllowed(audiences != null ? audiences : p.audiences(), jwt.audiences())) {
            return JwtStatus.AUDIENCE_NOT_ALLOWED;
        }
        if (!signed) {
            s = JwtVerifier.verify(jwt, p.jwks());
            if (s != JwtStatus.OK) {
                return s;
            }
            p.verified().put(token.value(), jwt);
        }
        accept(jwt, p, token);
        return JwtStatus.OK;
    }

    /** The first provider of the token's issuer, else the first without an issuer (Envoy's JWKS cache lookup). */
    private JwtProvider byIssuer(String iss) {
        String i = iss == null ? "" : iss;
        JwtProvider anyIssuer = null;
        for (JwtProvider p : providers) {
            if (p.issuer().equals(i)) {
                return p;
            }
            if (anyIssuer == null && p.issuer().isEmpty()) {
                anyIssuer = p;
            }
        }
        return anyIssuer;
    }

    /** What a verified token adds to the request: payload and claim headers, metadata; its removal when not forwarded. */
    private void accept(Jwt jwt, JwtProvider p, JwtExtractor.Token token) {
        if (p.forwardPayloadHeader() != null) {
            String payload = jwt.payloadBase64();
            if (p.padForwardPayloadHeader()) {
                payload = payload + "=".repeat((4 - payload.length() % 4) % 4);
            }
            request.addHeader(p.forwardPayloadHeader().toLowerCase(Locale.ROOT), payload);
        }
        for (JwtProvider.ClaimToHeader c : p.claimToHeaders()) {
            String v = claimAsHeader(jwt.payload(), c.claimName());
            if (v != null && !v.isEmpty()) {
                request.addHeader(c.headerName().toLowerCase(Locale.ROOT), v);
            }
        }
        if (!p.forward()) {
            switch (token.location().kind()) {
                case HEADER -> request.removeHeader(token.location().name());
                case PARAM -> request.removeQueryParam(token.location().name());
                case COOKIE -> {
                    // Envoy leaves a cookie in place too.
                }
            }
        }
        if (p.payloadInMetadata() != null || p.headerInMetadata() != null) {
            if (metadata == null) {
                metadata = new HashMap<>();
            }
            if (p.payloadInMetadata() != null) {
                metadata.put(p.payloadInMetadata(), value(jwt.payload()));
            }
            if (p.headerInMetadata() != null) {
                metadata.put(p.headerInMetadata(), value(jwt.header()));
            }
        }
        verified.add(new JwtAuthn.Verified(p, jwt));
    }

    /**
     * A claim as Envoy writes it into a header: strings as they are, whole non-negative numbers without a fraction
     * (others with six decimals, as C++'s to_string), booleans as true/false, objects and lists as base64 of their
     * JSON. A dotted name reaches into nested objects. Null when there is no such claim.
     */
    static String claimAsHeader(JsonObject payload, String claim) {
        Object v = payload;
        for (String key : claim.split("\\.", -1)) {
            if (!(v instanceof JsonObject o)) {
                return null;
            }
            v = o.getValue(key);
        }
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Boolean b) {
            return b.toString();
        }
        if (v instanceof Number n) {
            double d = n.doubleValue();
            if (d >= 0 && d < 1.8446744073709552E19 && d == Math.floor(d)) {
                return new java.math.BigDecimal(d).toBigInteger().toString();
            }
            return String.format(Locale.ROOT, "%f", d);
        }
        if (v instanceof JsonObject || v instanceof JsonArray) {
            String json = v instanceof JsonObject o ? o.encode() : ((JsonArray) v).encode();
            return Base64.getEncoder().encodeToString(json.getBytes(StandardCharsets.UTF_8));
        }
        return null;
    }

    /**
     * JSON as dynamic metadata values (protobuf Struct's kinds): String, Boolean, Double, List, Map, and null (a key
     * present with a JSON null; an absent key is no value).
     */
    static Object value(Object json) {
        if (json == null) {
            return null;
        }
        if (json instanceof JsonObject o) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : o) {
                m.put(e.getKey(), value(e.getValue()));
            }
            return java.util.Collections.unmodifiableMap(m);
        }
        if (json instanceof JsonArray a) {
            List<Object> l = new ArrayList<>(a.size());
            for (Object x : a) {
                l.add(value(x));
            }
            return java.util.Collections.unmodifiableList(l);
        }
        if (json instanceof Number n) {
            return n.doubleValue();
        }
        return json;   // String, Boolean
    }
}
