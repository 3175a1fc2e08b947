package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.config.StringMatch;
import io.mesh.config.VirtualService;

/** Translates an Istio HTTPMatchRequest into an Envoy RouteMatch. */
final class RouteMatches {
    private RouteMatches() {
    }

    static RouteMatch translate(VirtualService.Match m) {
        RouteMatch.Builder b = RouteMatch.newBuilder();
        if (m == null || m.uri() == null) {
            b.setPrefix("/");
        } else {
            StringMatch uri = m.uri();
            switch (uri.type()) {
                case EXACT -> b.setPath(uri.value());
                case PREFIX -> b.setPrefix(uri.value());
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
        m.headers().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> b.addHeaders(header(e.getKey(), e.getValue(), false)));
        // withoutHeaders: the same matchers, inverted (an empty match: the header is absent).
        m.withoutHeaders().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> b.addHeaders(header(e.getKey(), e.getValue(), true)));
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
