package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import java.util.List;

/**
 * AuthorizationPolicy's JWT fields -> RBAC principals on the filter metadata that {@code istio_authn} writes
 * ({@link JwtAuthn}), in istiod's shapes: {@code requestPrincipals} and {@code request.auth.principal} match the
 * string "ISSUER/SUBJECT", {@code request.auth.presenter} the "azp" claim, {@code request.auth.audiences} and
 * {@code request.auth.claims[NAME]} any element of a list. Values take Istio's exact, "abc*", "*abc" and "*" forms.
 * HTTP only: on TCP chains {@link Rbac#tcpPolicy} drops them, failing closed.
 */
final class JwtPrincipals {
    static final String FILTER = JwtAuthn.AUTHN_FILTER;
    static final String PRINCIPAL = "request.auth.principal";
    static final String AUDIENCES = "request.auth.audiences";
    static final String PRESENTER = "request.auth.presenter";

    private JwtPrincipals() {
    }

    static Principal requestPrincipal(String v) {
        return metadata(List.of(PRINCIPAL), ValueMatcher.newBuilder().setStringMatch(Rbac.string(v)).build());
    }

    static Principal presenter(String v) {
        return metadata(List.of(PRESENTER), ValueMatcher.newBuilder().setStringMatch(Rbac.string(v)).build());
    }

    static Principal audience(String v) {
        return metadata(List.of(AUDIENCES), oneOf(v));
    }

    static Principal claim(String name, String v) {
        return metadata(List.of(io.mesh.config.PolicyConfig.CLAIMS_KEY, name), oneOf(v));
    }

    private static ValueMatcher oneOf(String v) {
        return ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(
                ValueMatcher.newBuilder().setStringMatch(Rbac.string(v)))).build();
    }

    private static Principal metadata(List<String> path, ValueMatcher value) {
        MetadataMatcher.Builder m = MetadataMatcher.newBuilder().setFilter(FILTER).setValue(value);
        path.forEach(k -> m.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(k)));
        return Principal.newBuilder().setMetadata(m).build();
    }
}
