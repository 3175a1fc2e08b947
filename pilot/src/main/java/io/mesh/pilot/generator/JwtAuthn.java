package io.mesh.pilot.generator;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Empty;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.config.RequestAuthentication;
import io.mesh.pilot.model.JwksSource;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RequestAuthentication -> the two HTTP filters that go before a proxy's RBAC filters (istiod's order): Envoy's
 * {@code envoy.filters.http.jwt_authn}, which verifies a token when there is one (no token passes, an invalid one is
 * a 401), then {@code istio_authn}, which turns the verified payload into the {@code request.auth.*} filter
 * metadata that RBAC's {@link JwtPrincipals} match. No RequestAuthentication selects the proxy: no filters.
 */
final class JwtAuthn {
    static final String JWT_FILTER = "envoy.filters.http.jwt_authn";
    static final String AUTHN_FILTER = "istio_authn";
    static final String AUTHN_CONFIG_TYPE = "type.googleapis.com/io.istio.network.authn.Config";

    private JwtAuthn() {
    }

    /** The filters for a router or a sidecar's inbound HCM: [jwt_authn, istio_authn], or none. */
    static List<HttpFilter> filters(ProxyInfo proxy, MeshSnapshot snapshot) {
        JwtAuthentication config = config(proxy, snapshot);
        if (config == null) {
            return List.of();
        }
        return List.of(HttpFilter.newBuilder().setName(JWT_FILTER).setTypedConfig(Any.pack(config)).build(),
                HttpFilter.newBuilder().setName(AUTHN_FILTER).setTypedConfig(Any.pack(TypedStruct.newBuilder()
                        .setTypeUrl(AUTHN_CONFIG_TYPE).setValue(Struct.getDefaultInstance()).build())).build());
    }

    /**
     * The RequestAuthentications that select a proxy, as AuthorizationPolicies do: those of its namespace and of the
     * root namespace, with no selector or one its labels match; by namespace, then name.
     */
    static List<RequestAuthentication> selecting(ProxyInfo proxy, MeshSnapshot snapshot) {
        return snapshot.requestAuthentications().stream()
                .filter(ra -> ra.namespace().equals(proxy.namespace())
                        || ra.namespace().equals(MeshSettings.ROOT_NAMESPACE))
                .filter(ra -> PolicyAttachment.attaches(proxy, ra.namespace(), ra.selector(), ra.targetRefs()))
                .sorted(Comparator.comparing(RequestAuthentication::namespace).thenComparing(RequestAuthentication::name))
                .toList();
    }

    /**
     * One provider per issuer, named by it: istiod sorts every selected rule by issuer and keeps them all (under
     * index names); with issuer names, a second rule for the same issuer would collide, so the first one (by policy
     * namespace and name) is kept. One rule on every path: a valid token of any provider, or no token at all.
     */
    static JwtAuthentication config(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<RequestAuthentication.JwtRule> rules = new ArrayList<>();
        for (RequestAuthentication ra : selecting(proxy, snapshot)) {
            rules.addAll(ra.jwtRules());
        }
        if (rules.isEmpty()) {
            return null;
        }
        rules.sort(Comparator.comparing(RequestAuthentication.JwtRule::issuer));   // stable: policy order within
        Map<String, JwtProvider> providers = new LinkedHashMap<>();
        for (RequestAuthentication.JwtRule rule : rules) {
            providers.putIfAbsent(rule.issuer(), provider(rule, snapshot));
        }
        JwtRequirementOrList.Builder any = JwtRequirementOrList.newBuilder();
        providers.keySet().forEach(name -> any.addRequirements(JwtRequirement.newBuilder().setProviderName(name)));
        any.addRequirements(JwtRequirement.newBuilder().setAllowMissing(Empty.getDefaultInstance()));
        return JwtAuthentication.newBuilder().putAllProviders(providers)
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRequires(JwtRequirement.newBuilder().setRequiresAny(any)))
                .setBypassCorsPreflight(true).build();
    }

    private static JwtProvider provider(RequestAuthentication.JwtRule rule, MeshSnapshot snapshot) {
        String jwks = rule.jwks() != null ? rule.jwks()
                : snapshot.jwks().getOrDefault(rule.keysUri(), JwksSource.rejecting(rule.keysUri()));
        JwtProvider.Builder p = JwtProvider.newBuilder().setIssuer(rule.issuer()).addAllAudiences(rule.audiences())
                .setLocalJwks(DataSource.newBuilder().setInlineString(jwks))
                .addAllFromParams(rule.fromParams()).addAllFromCookies(rule.fromCookies())
                .setForward(rule.forwardOriginalToken()).setPayloadInMetadata(rule.issuer());
        rule.fromHeaders().forEach(h -> p.addFromHeaders(JwtHeader.newBuilder().setName(h.name())
                .setValuePrefix(h.prefix())));
        if (rule.outputPayloadToHeader() != null) {
            p.setForwardPayloadHeader(rule.outputPayloadToHeader());
        }
        rule.outputClaimToHeaders().forEach(c -> p.addClaimToHeaders(JwtClaimToHeader.newBuilder()
                .setHeaderName(c.header()).setClaimName(c.claim())));
        return p.build();
    }
}
