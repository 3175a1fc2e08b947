package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.config.JwtClaimRoute;
import io.mesh.config.StringMatch;
import io.mesh.config.VirtualService;
import java.util.List;

/** Translates an Istio HTTPMatchRequest into an Envoy RouteMatch. */
final class RouteMatches {
    /** The filter namespace the gateway's JWT stage writes the verified request's attributes under (istiod's). */
    static final String AUTHN_FILTER = JwtAuthn.AUTHN_FILTER;
    static final String CLAIMS_KEY = io.mesh.config.PolicyConfig.CLAIMS_KEY;
    private RouteMatches() {
    }

    static RouteMatch translate(VirtualService.Match m) {
        return translate(m, false);
    }

    /**
     * @param segments a route of a Kubernetes Gateway API HTTPRoute ({@link VirtualService#gatewaySemantics}): a path
     *                 prefix other than "/" matches whole path segments (Envoy's {@code path_separated_prefix}, without a
     *                 trailing "/"), as istiod builds it and the Gateway API's PathPrefix means
     */
    static RouteMatch translate(VirtualService.Match m, boolean segments) {
        RouteMatch.Builder b = RouteMatch.newBuilder();
        if (m == null || m.uri() == null) {
            b.setPrefix("/");
        } else {
            StringMatch uri = m.uri();
            switch (uri.type()) {
                case EXACT -> b.setPath(uri.value());
                case PREFIX -> {
                    if (segments && !uri.value().equals("/")) {
                        b.setPathSeparatedPrefix(uri.value().endsWith("/")
                                ? uri.value().substring(0, uri.value().length() - 1) : uri.value());
                    } else {
                        b.setPrefix(uri.value());
                    }
                }
                case REGEX -> b.setSafeRegex(regex(uri.value()));
                case PRESENT -> b.setPrefix("/");
            }
            if (m.ignoreUriCase()) {
                b.setCaseSensitive(com.google.protobuf.BoolValue.of(false));
            }
        }
        if (m == null) {
            return b.build();
        }
        if (m.method() != null) {
            b.addHeaders(header(":method", m.method(), false));
        }
        if (m.scheme() != null) {
            b.addHeaders(header(":scheme", m.scheme(), false));
        }
        if (m.authority() != null) {
            b.addHeaders(header(":authority", m.authority(), false));
        }
        // A JWT claim name is matched in the JWT filter's metadata, not in the headers (as istiod: claim names
        // take precedence); withoutHeaders inverts either.
        m.headers().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> addHeaderOrClaim(b, e.getKey(), e.getValue(), false));
        // withoutHeaders: the same matchers, inverted (an empty match: the header is absent).
        m.withoutHeaders().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> addHeaderOrClaim(b, e.getKey(), e.getValue(), true));
        m.queryParams().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e -> {
            QueryParameterMatcher.Builder q = QueryParameterMatcher.newBuilder().setName(e.getKey());
            if (e.getValue().type() == StringMatch.Type.PRESENT) {
                q.setPresentMatch(true);
            } else {
                q.setStringMatch(string(e.getValue()));
            }
            b.addQueryParameters(q);
        });
        return b.build();
    }

    private static void addHeaderOrClaim(RouteMatch.Builder b, String name, StringMatch sm, boolean invert) {
        List<String> claims = JwtClaimRoute.claims(name);
        if (claims == null) {
            b.addHeaders(header(name, sm, invert));
        } else {
            b.addDynamicMetadata(claim(claims, sm, invert));
        }
    }

    /** Whether a match has a JWT claim condition ({@link JwtClaimRoute}). */
    static boolean hasClaims(VirtualService.Match m) {
        return m != null && java.util.stream.Stream.concat(m.headers().keySet().stream(),
                m.withoutHeaders().keySet().stream()).anyMatch(JwtClaimRoute::isClaimName);
    }

    /** {@code m} without its withoutHeaders claim conditions (for a proxy where they always hold). */
    static VirtualService.Match withoutClaims(VirtualService.Match m) {
        java.util.Map<String, StringMatch> without = new java.util.HashMap<>(m.withoutHeaders());
        without.keySet().removeIf(JwtClaimRoute::isClaimName);
        return new VirtualService.Match(m.name(), m.uri(), m.scheme(), m.method(), m.authority(), m.headers(), without,
                m.queryParams(), m.port(), m.ignoreUriCase(), m.gateways(), m.sourceLabels(), m.sourceNamespace());
    }

    /**
     * A JWT claim condition as istiod writes it: the {@code istio_authn} filter's metadata at
     * {@code request.auth.claims} then the claim path, where every claim is a list of strings, so one of its
     * elements must match. An empty match ({@code {}}) asks for an element whatever it is: the claim is there.
     */
    static MetadataMatcher claim(List<String> claims, StringMatch sm, boolean invert) {
        MetadataMatcher.Builder b = MetadataMatcher.newBuilder().setFilter(AUTHN_FILTER).setInvert(invert)
                .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(CLAIMS_KEY));
        claims.forEach(c -> b.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(c)));
        ValueMatcher element = sm.type() == StringMatch.Type.PRESENT ? ValueMatcher.newBuilder().setPresentMatch(true)
                .build() : ValueMatcher.newBuilder().setStringMatch(string(sm)).build();
        return b.setValue(ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(element))).build();
    }

    private static HeaderMatcher header(String name, StringMatch sm, boolean invert) {
        HeaderMatcher.Builder h = HeaderMatcher.newBuilder().setName(name).setInvertMatch(invert);
        return sm.type() == StringMatch.Type.PRESENT ? h.setPresentMatch(true).build()
                : h.setStringMatch(string(sm)).build();
    }

    static StringMatcher string(StringMatch sm) {
        return switch (sm.type()) {
            case EXACT -> StringMatcher.newBuilder().setExact(sm.value()).build();
            case PREFIX -> StringMatcher.newBuilder().setPrefix(sm.value()).build();
            case REGEX -> StringMatcher.newBuilder().setSafeRegex(regex(sm.value())).build();
            case PRESENT -> throw new IllegalArgumentException("a presence match has no string matcher");
        };
    }

    static RegexMatcher regex(String r) {
        return RegexMatcher.newBuilder().setRegex(r).build();
    }
}
