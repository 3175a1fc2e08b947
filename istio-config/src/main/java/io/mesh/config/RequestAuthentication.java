package io.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * RequestAuthentication (security.istio.io): which JWTs a workload accepts. A request with no token passes (an
 * AuthorizationPolicy on {@code requestPrincipals} is what requires one); a request with an invalid token is
 * rejected. No selector: every workload of the namespace, or of the mesh in the root namespace.
 */
public record RequestAuthentication(String namespace, String name, Map<String, String> selector, List<JwtRule> jwtRules,
        List<PolicyTargetRef> targetRefs) {
    public RequestAuthentication {
        selector = Map.copyOf(selector);
        jwtRules = List.copyOf(jwtRules);
        targetRefs = List.copyOf(targetRefs);
    }

    /**
     * One issuer's tokens: where to find them (none given: Envoy's defaults, {@code Authorization: Bearer} and the
     * {@code access_token} parameter), the keys that verify them ({@code jwks} inline, else fetched from
     * {@code jwksUri}) and what to pass on.
     */
    public record JwtRule(String issuer, List<String> audiences, String jwksUri, String jwks,
            List<HeaderLocation> fromHeaders, List<String> fromParams, List<String> fromCookies,
            boolean forwardOriginalToken, String outputPayloadToHeader, List<ClaimToHeader> outputClaimToHeaders,
            Duration timeout) {
        public JwtRule {
            audiences = List.copyOf(audiences);
            fromHeaders = List.copyOf(fromHeaders);
            fromParams = List.copyOf(fromParams);
            fromCookies = List.copyOf(fromCookies);
            outputClaimToHeaders = List.copyOf(outputClaimToHeaders);
        }

        /**
         * Where the keys are fetched from when {@code jwks} is not inline: {@code jwksUri}, else the issuer's OpenID
         * configuration ({@code ISSUER/.well-known/openid-configuration}, whose {@code jwks_uri} names the JWKS), as
         * istiod does. Null when the keys are inline.
         */
        public String keysUri() {
            if (jwks != null) {
                return null;
            }
            return jwksUri != null ? jwksUri : openIdConfiguration(issuer);
        }
    }

    /** The suffix of an issuer's OpenID configuration document (OpenID Connect Discovery 1.0). */
    public static final String OPENID_CONFIGURATION = "/.well-known/openid-configuration";

    /** {@code issuer} without a trailing slash, then {@link #OPENID_CONFIGURATION}. */
    public static String openIdConfiguration(String issuer) {
        return (issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer) + OPENID_CONFIGURATION;
    }

    /** fromHeaders[]: the header, and the prefix its value has before the token (e.g. "Bearer "). */
    public record HeaderLocation(String name, String prefix) {
    }

    /** outputClaimToHeaders[]: a claim of a verified token copied to a request header. */
    public record ClaimToHeader(String header, String claim) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    static RequestAuthentication parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("selector", "targetRef", "targetRefs", "jwtRules");
        List<PolicyTargetRef> targetRefs = PolicyTargetRef.parse(r, p);
        Map<String, String> selector = Map.of();
        SpecReader s = r.object("selector");
        if (s != null) {
            s.allow("matchLabels");
            selector = s.stringMap("matchLabels");
        }
        List<JwtRule> rules = new ArrayList<>();
        for (SpecReader j : r.list("jwtRules")) {
            rules.add(rule(j, p));
        }
        return new RequestAuthentication(raw.namespace(), raw.name(), selector, rules, targetRefs);
    }

    private static JwtRule rule(SpecReader j, Problems p) {
        j.allow("issuer", "audiences", "jwksUri", "jwks", "fromHeaders", "fromParams", "fromCookies",
                "forwardOriginalToken", "outputPayloadToHeader", "outputClaimToHeaders", "timeout",
                "spaceDelimitedClaims");
        String issuer = j.requiredString("issuer");
        List<String> audiences = nonEmpty(j, "audiences");
        String jwksUri = j.string("jwksUri");
        if (jwksUri != null && !jwksUri.isEmpty() && !isHttpUrl(jwksUri)) {
            p.error(j.at("jwksUri"), "\"" + jwksUri + "\" is not an http or https URL with a host");
        }
        String jwks = j.string("jwks");
        if (jwks != null && !jwks.isEmpty()) {
            String why = jwksProblem(jwks);
            if (why != null) {
                p.error(j.at("jwks"), "is not a JSON Web Key Set: " + why);
            }
        }
        if ((jwks == null || jwks.isEmpty()) && (jwksUri == null || jwksUri.isEmpty()) && issuer != null
                && !issuer.isEmpty() && !isHttpUrl(issuer)) {
            p.error(j.path(), "jwks or jwksUri must be set when the issuer \"" + issuer + "\" is not an http or https URL"
                    + " (the keys are otherwise discovered from the issuer's OpenID configuration)");
        }
        if (j.has("spaceDelimitedClaims")) {
            p.warn(j.at("spaceDelimitedClaims"), "has no effect here: claims are matched as the token has them");
        }
        List<HeaderLocation> headers = new ArrayList<>();
        for (SpecReader h : j.list("fromHeaders")) {
            h.allow("name", "prefix");
            String name = h.requiredString("name");
            headers.add(new HeaderLocation(name == null ? "" : name, h.string("prefix") == null ? "" : h.string("prefix")));
        }
        List<ClaimToHeader> claims = new ArrayList<>();
        for (SpecReader c : j.list("outputClaimToHeaders")) {
            c.allow("header", "claim");
            String header = c.requiredString("header");
            String claim = c.requiredString("claim");
            claims.add(new ClaimToHeader(header == null ? "" : header, claim == null ? "" : claim));
        }
        Boolean forward = j.bool("forwardOriginalToken");
        Duration timeout = j.duration("timeout");
        return new JwtRule(issuer == null ? "" : issuer, audiences, emptyToNull(jwksUri), emptyToNull(jwks), headers,
                nonEmpty(j, "fromParams"), nonEmpty(j, "fromCookies"), Boolean.TRUE.equals(forward),
                emptyToNull(j.string("outputPayloadToHeader")), claims, timeout);
    }

    private static List<String> nonEmpty(SpecReader r, String field) {
        List<String> out = r.strings(field);
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).isEmpty()) {
                r.problems().error(r.at(field) + "[" + i + "]", "must not be empty");
            }
        }
        return out;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /** Istio's ParseJwksURI: scheme http or https, and a host. */
    static boolean isHttpUrl(String v) {
        try {
            java.net.URI u = new java.net.URI(v);
            return ("http".equalsIgnoreCase(u.getScheme()) || "https".equalsIgnoreCase(u.getScheme()))
                    && u.getHost() != null && !u.getHost().isEmpty();
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    /** Null when {@code jwks} is a JSON object with a "keys" list of objects that each have "kty"; else why not. */
    public static String jwksProblem(String jwks) {
        JsonNode n;
        try {
            n = JSON.readTree(jwks);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return "not JSON (" + e.getOriginalMessage() + ")";
        }
        if (n == null || !n.isObject() || !n.has("keys") || !n.get("keys").isArray()) {
            return "must be an object with a \"keys\" list";
        }
        for (JsonNode k : n.get("keys")) {
            if (!k.isObject() || !k.hasNonNull("kty")) {
                return "every key must be an object with \"kty\"";
            }
        }
        return null;
    }
}
