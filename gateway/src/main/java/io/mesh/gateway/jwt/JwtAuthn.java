package io.mesh.gateway.jwt;

import io.mesh.gateway.route.Route;
import java.util.List;
import java.util.Map;

/**
 * One filter chain's {@code envoy.filters.http.jwt_authn} filter, compiled, and whether Istio's {@code istio_authn}
 * filter follows it. Immutable; {@link #authenticate} is called on the request's event loop and keeps its state in
 * the call.
 *
 * @param providers in config order (the order {@code istio_authn} picks the request's principal in)
 * @param rules the first rule whose match takes the request decides what it requires; none = nothing is checked
 */
public record JwtAuthn(List<JwtProvider> providers, List<Rule> rules, boolean bypassCorsPreflight, boolean istioAuthn) {

    /** A rule: Envoy's route match (path, headers, query parameters) and what it requires. */
    public record Rule(Route match, JwtRequirement requires) {
    }

    /** A token that verified, and the provider it verified for. */
    public record Verified(JwtProvider provider, Jwt jwt) {
    }

    /**
     * What the filter decided. On {@link JwtStatus#OK}: the verified tokens and the dynamic metadata the filter writes
     * under {@code envoy.filters.http.jwt_authn} ({@code payload_in_metadata} / {@code header_in_metadata}); empty
     * when nothing was checked.
     */
    public record Outcome(JwtStatus status, List<Verified> verified, Map<String, Object> metadata) {
        public static final Outcome SKIPPED = new Outcome(JwtStatus.OK, List.of(), Map.of());
    }

    public JwtAuthn {
        providers = List.copyOf(providers);
        rules = List.copyOf(rules);
    }

    public JwtAuthn withIstioAuthn() {
        return new JwtAuthn(providers, rules, bypassCorsPreflight, true);
    }

    /**
     * Runs the filter on a request (its headers may change: claims and payload headers added, a token removed when
     * not forwarded). {@code nowSeconds} is the Unix time the token's {@code exp} and {@code nbf} are checked at.
     */
    public Outcome authenticate(JwtRequest request, long nowSeconds) {
        if (bypassCorsPreflight && isCorsPreflight(request)) {
            return Outcome.SKIPPED;   // a preflight carries no credentials, whatever the rules require
        }
        for (Rule r : rules) {
            if (r.match().matches(request)) {
                return new JwtAuthenticator(providers, request, nowSeconds).run(r.requires());
            }
        }
        return Outcome.SKIPPED;
    }

    /** Envoy's test: OPTIONS with a non-empty {@code Origin} and {@code Access-Control-Request-Method}. */
    static boolean isCorsPreflight(JwtRequest r) {
        if (!"OPTIONS".equals(r.method())) {
            return false;
        }
        String origin = r.header("origin");
        String method = r.header("access-control-request-method");
        return origin != null && !origin.isEmpty() && method != null && !method.isEmpty();
    }
}
