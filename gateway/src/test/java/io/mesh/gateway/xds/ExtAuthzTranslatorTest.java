package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationRequest;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationResponse;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.BufferSettings;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.rbac.Rbac;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The ext_authz HTTP filter and the RBAC filter's shadow rules as istiod generates them for an AuthorizationPolicy
 * CUSTOM action, through the listener translator: what is served, Envoy's defaults, the shadow rules' metadata, and the
 * NACKs (each naming the field) for what this proxy does not do.
 */
class ExtAuthzTranslatorTest {

    static final String POLICY = "istio-ext-authz-ns[foo]-policy[ext]-rule[0]";

    static ExtAuthz.Builder http() {
        return ExtAuthz.newBuilder().setHttpService(HttpService.newBuilder().setServerUri(HttpUri.newBuilder()
                .setUri("http://authz.foo.svc.cluster.local").setCluster("outbound|8000||authz.foo.svc.cluster.local")
                .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(600))));
    }

    static HttpFilter extAuthz(ExtAuthz.Builder f) {
        return HttpFilter.newBuilder().setName("envoy.filters.http.ext_authz").setTypedConfig(Any.pack(f.build())).build();
    }

    /** istiod's shadow RBAC filter for CUSTOM: the policy on path {@code prefix}, prefix istio_ext_authz_. */
    static HttpFilter shadow(RBAC.Action action, String prefix) {
        RBAC rules = RBAC.newBuilder().setAction(action).putPolicies(POLICY, Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                        .setPath(StringMatcher.newBuilder().setPrefix(prefix))))
                .addPrincipals(Principal.newBuilder().setAny(true)).build()).build();
        return HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setShadowRules(rules)
                        .setShadowRulesStatPrefix("istio_ext_authz_").build())).build();
    }

    static FilterChainSpec chain(HttpFilter... filters) throws ConfigRejected {
        return ListenerTranslator.translate(RbacMetadataTest.listener(filters)).chains().get(0);
    }

    static String rejected(HttpFilter... filters) {
        return assertThrows(ConfigRejected.class, () -> chain(filters)).getMessage();
    }

    @Test
    void shadowRulesRecordThePolicyAndTheEngineResultWithoutEnforcing() throws Exception {
        Rbac rbac = chain(shadow(RBAC.Action.DENY, "/"), RbacMetadataTest.ROUTER).rbac();
        MetadataRequest r = new MetadataRequest(Map.of());
        assertNull(rbac.denial(r), "shadow rules never deny");
        assertEquals(Map.of("istio_ext_authz_shadow_effective_policy_id", POLICY,
                "istio_ext_authz_shadow_engine_result", "denied"), rbac.shadowMetadata(r));
        Rbac unmatched = chain(shadow(RBAC.Action.DENY, "/admin"), RbacMetadataTest.ROUTER).rbac();
        assertEquals(Map.of("istio_ext_authz_shadow_engine_result", "allowed"), unmatched.shadowMetadata(r),
                "no policy matched: no effective policy id; a DENY engine allows");
        Rbac allow = chain(shadow(RBAC.Action.ALLOW, "/admin"), RbacMetadataTest.ROUTER).rbac();
        assertEquals(Map.of("istio_ext_authz_shadow_engine_result", "denied"), allow.shadowMetadata(r),
                "an ALLOW engine with no matching policy denies");
        assertNull(chain(RbacMetadataTest.RBAC_FILTER, RbacMetadataTest.ROUTER).rbac().shadowMetadata(r));
    }

    @Test
    void istiodsCustomFiltersTranslateWithEnvoysDefaults() throws Exception {
        ExtAuthz.Builder f = http();
        f.getHttpServiceBuilder().setPathPrefix("/check")
                .setAuthorizationRequest(AuthorizationRequest.newBuilder().setAllowedHeaders(ListStringMatcher.newBuilder()
                        .addPatterns(StringMatcher.newBuilder().setPrefix("x-ext-").setIgnoreCase(true))));
        f.setFilterEnabledMetadata(MetadataMatcher.newBuilder().setFilter("envoy.filters.http.rbac")
                .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("istio_ext_authz_shadow_effective_policy_id"))
                .setValue(ValueMatcher.newBuilder().setStringMatch(StringMatcher.newBuilder().setPrefix("istio-ext-authz"))));
        FilterChainSpec c = chain(shadow(RBAC.Action.DENY, "/"), extAuthz(f), RbacMetadataTest.ROUTER);
        var authz = c.extAuthz();
        assertEquals("outbound|8000||authz.foo.svc.cluster.local", authz.cluster());
        assertEquals(600_000, authz.timeoutMs());
        assertEquals("/check", authz.pathPrefix());
        assertEquals(403, authz.statusOnError(), "Envoy's default status_on_error");
        assertFalse(authz.failureModeAllow());
        for (String always : new String[] {"authorization", "host", ":path", ":method", "x-ext-user"}) {
            assertTrue(authz.requestHeaders().test(always), always);
        }
        assertFalse(authz.requestHeaders().test("cookie"));
        assertTrue(authz.clientHeaders().test("x-anything"), "allowed_client_headers not set: every header but host");
        assertFalse(authz.clientHeaders().test("host"));
        assertFalse(authz.upstreamHeaders().test("x-anything"), "allowed_upstream_headers not set: none");
        assertFalse(authz.clientHeadersOnSuccess().test("x-anything"));
        var marked = new MetadataRequest(Map.of("envoy.filters.http.rbac", c.rbac().shadowMetadata(new MetadataRequest(Map.of()))));
        assertTrue(authz.appliesTo(marked), "the shadow rule's mark enables the check");
        assertFalse(authz.appliesTo(new MetadataRequest(Map.of())));

        ExtAuthz.Builder g = http().setStatusOnError(HttpStatus.newBuilder().setCode(StatusCode.ServiceUnavailable))
                .setFailureModeAllow(true);
        g.getHttpServiceBuilder().setAuthorizationResponse(AuthorizationResponse.newBuilder()
                .setAllowedClientHeaders(ListStringMatcher.newBuilder().addPatterns(StringMatcher.newBuilder().setExact("x-why"))));
        var h = chain(extAuthz(g), RbacMetadataTest.ROUTER).extAuthz();
        assertEquals(503, h.statusOnError());
        assertTrue(h.failureModeAllow());
        assertTrue(h.clientHeaders().test("x-why"));
        assertTrue(h.clientHeaders().test("www-authenticate"), "always sent once the list is set");
        assertFalse(h.clientHeaders().test("x-other"));
        assertTrue(h.appliesTo(new MetadataRequest(Map.of())), "no filter_enabled_metadata: every request");
    }

    @Test
    void istiodsOrderPutsCustomBeforeJwtAuthn() throws Exception {
        FilterChainSpec c = chain(shadow(RBAC.Action.DENY, "/"), extAuthz(http()), RbacMetadataTest.JWT,
                RbacMetadataTest.ISTIO_AUTHN, RbacMetadataTest.RBAC_FILTER, RbacMetadataTest.ROUTER);
        assertTrue(c.extAuthz().beforeJwt(), "runs before jwt_authn, as placed");
        assertTrue(c.rbac().shadows().get(0).beforeJwt());
        assertTrue(c.jwtAuthn().istioAuthn());
        FilterChainSpec after = chain(RbacMetadataTest.JWT, shadow(RBAC.Action.DENY, "/"), extAuthz(http()),
                RbacMetadataTest.ROUTER);
        assertFalse(after.extAuthz().beforeJwt());
        assertFalse(after.rbac().shadows().get(0).beforeJwt());
        assertFalse(chain(shadow(RBAC.Action.DENY, "/"), extAuthz(http()), RbacMetadataTest.ROUTER).extAuthz().beforeJwt(),
                "no jwt_authn: nothing to be before");
    }

    @Test
    void whatIsNotServedIsRejectedByName() {
        ExtAuthz.Builder grpc = ExtAuthz.newBuilder().setGrpcService(GrpcService.newBuilder().setEnvoyGrpc(
                GrpcService.EnvoyGrpc.newBuilder().setClusterName("authz")));
        assertTrue(rejected(extAuthz(grpc), RbacMetadataTest.ROUTER).contains("grpc_service is not supported"));
        assertTrue(rejected(extAuthz(http().setWithRequestBody(BufferSettings.newBuilder().setAllowPartialMessage(true))),
                RbacMetadataTest.ROUTER).contains("with_request_body.max_request_bytes"));
        ExtAuthz.Builder noTimeout = http();
        noTimeout.getHttpServiceBuilder().getServerUriBuilder().clearTimeout();
        assertTrue(rejected(extAuthz(noTimeout), RbacMetadataTest.ROUTER).contains("server_uri.timeout is required"));
        ExtAuthz.Builder noCluster = http();
        noCluster.getHttpServiceBuilder().getServerUriBuilder().clearCluster();
        assertTrue(rejected(extAuthz(noCluster), RbacMetadataTest.ROUTER).contains("server_uri needs a cluster"));
        HttpFilter enforcing = HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(RBAC.newBuilder()
                        .setAction(RBAC.Action.DENY)).build())).build();
        assertTrue(rejected(enforcing, extAuthz(http()), RbacMetadataTest.ROUTER).contains("after an RBAC filter with rules"));
        assertTrue(rejected(extAuthz(http()), extAuthz(http()), RbacMetadataTest.ROUTER).contains("more than one ext_authz"));
        assertTrue(rejected(enforcing, RbacMetadataTest.JWT, RbacMetadataTest.ROUTER).contains("jwt_authn"));
        HttpFilter matcher = HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setShadowMatcher(
                        com.github.xds.type.matcher.v3.Matcher.getDefaultInstance()).build())).build();
        assertTrue(rejected(matcher, RbacMetadataTest.ROUTER).contains("shadow_matcher"));
    }
}
