package io.mesh.gateway.jwt;

import java.util.List;

/**
 * One {@code providers} entry of the jwt_authn filter: who issues the tokens, the audiences they must name (empty =
 * any), the keys that sign them, where they are found and what a verified one adds to the request.
 *
 * @param issuer the {@code iss} tokens must carry; empty = any issuer (the location decides, as in Envoy)
 * @param fromHeaders where tokens are read from; when headers, params and cookies are all empty, Envoy's defaults
 *        ({@code Authorization: Bearer <token>} and the {@code access_token} query parameter) are filled in here
 * @param forward false = the token's header (or query parameter) is removed before the request goes on
 * @param forwardPayloadHeader the header that carries the token's base64url payload upstream, or null
 * @param payloadInMetadata the key of the payload in the filter's dynamic metadata, or null
 * @param headerInMetadata the key of the JOSE header in the filter's dynamic metadata, or null
 * @param clockSkewSeconds allowed skew for {@code exp} and {@code nbf} (Envoy's default is 60)
 * @param verified the tokens this provider's keys have verified ({@code jwt_cache_config}); null: Envoy's default size
 */
public record JwtProvider(String name, String issuer, List<String> audiences, Jwks jwks, List<HeaderLocation> fromHeaders,
        List<String> fromParams, List<String> fromCookies, boolean forward, String forwardPayloadHeader,
        boolean padForwardPayloadHeader, List<ClaimToHeader> claimToHeaders, String payloadInMetadata,
        String headerInMetadata, long clockSkewSeconds, VerifiedTokens verified) {

    /** A header a token is read from; with a prefix, the token is what follows it (e.g. "Bearer "). */
    public record HeaderLocation(String name, String valuePrefix) {
    }

    /** A claim copied into a request header when the token verifies (top-level or dotted path to a nested one). */
    public record ClaimToHeader(String headerName, String claimName) {
    }

    public JwtProvider {
        issuer = issuer == null ? "" : issuer;
        audiences = List.copyOf(audiences);
        fromHeaders = List.copyOf(fromHeaders);
        fromParams = List.copyOf(fromParams);
        fromCookies = List.copyOf(fromCookies);
        claimToHeaders = List.copyOf(claimToHeaders);
        verified = verified == null ? new VerifiedTokens(VerifiedTokens.DEFAULT_SIZE) : verified;
        if (fromHeaders.isEmpty() && fromParams.isEmpty() && fromCookies.isEmpty()) {
            fromHeaders = List.of(new HeaderLocation("authorization", "Bearer "));
            fromParams = List.of("access_token");
        }
    }

    /** A provider with Envoy's default cache of verified tokens. */
    public JwtProvider(String name, String issuer, List<String> audiences, Jwks jwks, List<HeaderLocation> fromHeaders,
            List<String> fromParams, List<String> fromCookies, boolean forward, String forwardPayloadHeader,
            boolean padForwardPayloadHeader, List<ClaimToHeader> claimToHeaders, String payloadInMetadata,
            String headerInMetadata, long clockSkewSeconds) {
        this(name, issuer, audiences, jwks, fromHeaders, fromParams, fromCookies, forward, forwardPayloadHeader,
                padForwardPayloadHeader, claimToHeaders, payloadInMetadata, headerInMetadata, clockSkewSeconds, null);
    }

    /** Whether the token's audiences are allowed by {@code allowed} (empty = any): at least one must be listed. */
    static boolean audiencesAllowed(List<String> allowed, List<String> tokenAudiences) {
        if (allowed.isEmpty()) {
            return true;
        }
        for (String a : tokenAudiences) {
            String t = strip(a);
            for (String c : allowed) {
                if (strip(c).equals(t)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** jwt_verify_lib compares audiences, on both sides, without a URL scheme and trailing slash ("https://a/" is "a"). */
    private static String strip(String aud) {
        String s = aud;
        if (s.startsWith("http://")) {
            s = s.substring(7);
        } else if (s.startsWith("https://")) {
            s = s.substring(8);
        }
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }
}
