package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.rbac.Rbac;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * RBAC over the istio_authn metadata, in the shapes pilot translates AuthorizationPolicy into (requestPrincipals,
 * request.auth.claims[...] conditions), and the HTTP filter order a chain must have for RBAC to see that metadata.
 */
public class RbacMetadataTest {

    static final MetadataRequest ALICE = new MetadataRequest(Map.of("istio_authn", Map.of(
            "request.auth.principal", "https://a.example/alice",
            "request.auth.audiences", List.of("web"),
            "request.auth.claims", Map.of("groups", List.of("dev", "admin"), "nested", Map.of("tier", List.of("gold"))))));
    static final MetadataRequest ANONYMOUS = new MetadataRequest(Map.of());

    /** A matcher on the istio_authn metadata at {@code keys} (its value still to set); also used by it/RouterJwtTest. */
    public static MetadataMatcher.Builder meta(String... keys) {
        MetadataMatcher.Builder m = MetadataMatcher.newBuilder().setFilter("istio_authn");
        for (String k : keys) {
            m.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(k));
        }
        return m;
    }

    public static ValueMatcher exact(String v) {
        return ValueMatcher.newBuilder().setStringMatch(StringMatcher.newBuilder().setExact(v)).build();
    }

    static ValueMatcher oneOf(String v) {
        return ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(exact(v))).build();
    }

    /** An ALLOW filter with one policy: any permission, this principal. */
    static Rbac allow(Principal p) throws ConfigRejected {
        List<Rbac.Policy> deny = new ArrayList<>();
        List<Rbac.Policy> allow = new ArrayList<>();
        boolean a = RbacTranslator.add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder()
                .setRules(RBAC.newBuilder().setAction(RBAC.Action.ALLOW).putPolicies("p", Policy.newBuilder()
                        .addPermissions(Permission.newBuilder().setAny(true)).addPrincipals(p).build())).build(), deny, allow, "t");
        return new Rbac(deny, allow, a);
    }

    static boolean allows(Principal p, MetadataRequest r) throws ConfigRejected {
        return allow(p).denial(r) == null;
    }

    @Test
    void requestPrincipalsMatchTheVerifiedTokensIssuerAndSubject() throws Exception {
        Principal exactly = Principal.newBuilder().setMetadata(meta("request.auth.principal").setValue(exact("https://a.example/alice"))).build();
        assertTrue(allows(exactly, ALICE));
        assertTrue(!allows(exactly, ANONYMOUS), "no verified token, no metadata: the matcher is false");
        Principal anyOfIssuer = Principal.newBuilder().setMetadata(meta("request.auth.principal").setValue(ValueMatcher.newBuilder()
                .setStringMatch(StringMatcher.newBuilder().setPrefix("https://a.example/")))).build();
        assertTrue(allows(anyOfIssuer, ALICE));
        Principal notAnyone = Principal.newBuilder().setNotId(Principal.newBuilder().setMetadata(meta("request.auth.principal")
                .setValue(ValueMatcher.newBuilder().setStringMatch(StringMatcher.newBuilder().setSafeRegex(
                        io.envoyproxy.envoy.type.matcher.v3.RegexMatcher.newBuilder().setRegex(".+")))))).build();
        assertTrue(allows(notAnyone, ANONYMOUS), "not_id of a request principal holds for an anonymous request");
        assertTrue(!allows(notAnyone, ALICE));
    }

    @Test
    void claimConditionsMatchAnyElementOfTheClaimsList() throws Exception {
        assertTrue(allows(Principal.newBuilder().setMetadata(meta("request.auth.claims", "groups").setValue(oneOf("admin"))).build(), ALICE));
        assertTrue(!allows(Principal.newBuilder().setMetadata(meta("request.auth.claims", "groups").setValue(oneOf("ops"))).build(), ALICE));
        assertTrue(allows(Principal.newBuilder().setMetadata(meta("request.auth.claims", "nested", "tier").setValue(oneOf("gold"))).build(), ALICE));
        assertTrue(allows(Principal.newBuilder().setMetadata(meta("request.auth.audiences").setValue(oneOf("web"))).build(), ALICE));
        assertTrue(!allows(Principal.newBuilder().setMetadata(meta("request.auth.claims", "groups").setValue(exact("admin"))).build(), ALICE),
                "a string matcher does not match a list");
        assertTrue(!allows(Principal.newBuilder().setMetadata(meta("request.auth.claims", "groups", "deeper").setValue(oneOf("admin"))).build(),
                ALICE), "a path through a list finds nothing");
    }

    @Test
    void presenceAndInvertAndPermissionsWork() throws Exception {
        ValueMatcher present = ValueMatcher.newBuilder().setPresentMatch(true).build();
        assertTrue(allows(Principal.newBuilder().setMetadata(meta("request.auth.claims", "groups").setValue(present)).build(), ALICE));
        assertTrue(!allows(Principal.newBuilder().setMetadata(meta("request.auth.claims", "email").setValue(present)).build(), ALICE));
        assertTrue(allows(Principal.newBuilder().setMetadata(meta("request.auth.claims", "email").setValue(present).setInvert(true)).build(), ALICE));
        List<Rbac.Policy> deny = new ArrayList<>();
        RbacTranslator.add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(RBAC.newBuilder()
                .setAction(RBAC.Action.DENY).putPolicies("admins-only", Policy.newBuilder()
                        .addPermissions(Permission.newBuilder().setMetadata(meta("request.auth.claims", "groups").setValue(oneOf("dev"))))
                        .addPrincipals(Principal.newBuilder().setAny(true)).build())).build(), deny, new ArrayList<>(), "t");
        assertEquals("admins-only", new Rbac(deny, List.of(), false).denial(ALICE), "a metadata permission in a DENY policy");
        assertNull(new Rbac(deny, List.of(), false).denial(ANONYMOUS));
        assertThrows(ConfigRejected.class, () -> allow(Principal.newBuilder().setMetadata(MetadataMatcher.newBuilder()
                .setFilter("istio_authn").setValue(present)).build()), "a matcher without a path");
    }

    static Listener listener(HttpFilter... filters) {
        HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder().setStatPrefix("in")
                .setRouteConfig(RouteConfiguration.newBuilder().setName("r"));
        for (HttpFilter f : filters) {
            hcm.addHttpFilters(f);
        }
        return Listener.newBuilder().setName("l").setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                        .setAddress("0.0.0.0").setPortValue(8080)))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm.build())))).build();
    }

    static final HttpFilter JWT = HttpFilter.newBuilder().setName("envoy.filters.http.jwt_authn").setTypedConfig(Any.pack(
            JwtAuthentication.newBuilder().putProviders("origins-0", JwtProvider.newBuilder().setIssuer("https://a.example")
                            .setLocalJwks(DataSource.newBuilder().setInlineString("{\"keys\":[]}")).build())
                    .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRequires(JwtRequirement.newBuilder().setProviderName("origins-0"))).build())).build();
    /** Istio's authn filter as istiod sends it: a TypedStruct naming its config type, with no fields. */
    static final HttpFilter ISTIO_AUTHN = HttpFilter.newBuilder().setName("istio_authn").setTypedConfig(Any.pack(
            com.github.xds.type.v3.TypedStruct.newBuilder().setTypeUrl("type.googleapis.com/io.istio.network.authn.Config")
                    .setValue(Struct.getDefaultInstance()).build())).build();
    static final HttpFilter RBAC_FILTER = HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
            io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDefaultInstance())).build();
    static final HttpFilter ROUTER = HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(
            io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDefaultInstance())).build();

    @Test
    void istiodsFilterOrderIsAcceptedAndAnOrderWhereRbacComesFirstIsNot() throws Exception {
        FilterChainSpec chain = ListenerTranslator.translate(listener(JWT, ISTIO_AUTHN, RBAC_FILTER, ROUTER)).chains().get(0);
        assertNotNull(chain.jwtAuthn());
        assertTrue(chain.jwtAuthn().istioAuthn());
        assertTrue(!ListenerTranslator.translate(listener(JWT, RBAC_FILTER, ROUTER)).chains().get(0).jwtAuthn().istioAuthn());
        assertNull(ListenerTranslator.translate(listener(ISTIO_AUTHN, RBAC_FILTER, ROUTER)).chains().get(0).jwtAuthn(),
                "istio_authn alone is accepted and does nothing");
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(listener(RBAC_FILTER, JWT, ROUTER)));
        assertTrue(e.getMessage().contains("before the RBAC filters"), e.getMessage());
    }
}
