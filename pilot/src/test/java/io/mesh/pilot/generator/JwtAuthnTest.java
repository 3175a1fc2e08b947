package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Empty;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.JwksSource;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.model.SnapshotBuilder;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * RequestAuthentication -> jwt_authn and istio_authn before the RBAC filters, on a router's and a sidecar inbound's
 * connection managers, asserted on the protos.
 */
class JwtAuthnTest {
    static final String JWKS = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k1\",\"n\":\"sXch\"}]}";
    static final String JWKS_2 = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k2\",\"n\":\"tYdi\"}]}";
    /** The WEB workload (10.0.0.1 in demo) with labels, so selectors can pick it. */
    static final ProxyInfo WEB_POD = new ProxyInfo("sidecar~10.0.0.1~web-1.demo~demo.svc.cluster.local",
            ProxyInfo.Type.SIDECAR, "demo", "10.0.0.1", Map.of("app", "web"));
    static final String MESH = GatewayAuthorizationTest.MESH;

    static String ra(String namespace, String name, String body) {
        return "---\n" + """
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: %s, namespace: %s}
                spec:
                %s
                """.formatted(name, namespace, body.indent(2));
    }

    static String inline(String issuer) {
        return "jwtRules: [{issuer: \"" + issuer + "\", jwks: '" + JWKS + "'}]";
    }

    static HttpConnectionManager routerHcm(MeshSnapshot snapshot) {
        Listener l = listener(GeneratorGoldenTest.router(), snapshot, "0.0.0.0_8080");
        return unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(), HttpConnectionManager.class);
    }

    static HttpConnectionManager sidecarHcm(ProxyInfo proxy, MeshSnapshot snapshot) {
        Listener l = listener(proxy, snapshot, "virtualInbound");
        var chain = SidecarInboundTest.chain(l, "inbound|8081||-tls");
        return unpack(SidecarInboundTest.onlyFilter(chain).getTypedConfig(), HttpConnectionManager.class);
    }

    static HttpFilter filter(HttpConnectionManager hcm, String name) {
        return hcm.getHttpFiltersList().stream().filter(f -> f.getName().equals(name)).findFirst().orElseThrow();
    }

    static List<String> names(HttpConnectionManager hcm) {
        return hcm.getHttpFiltersList().stream().map(HttpFilter::getName).toList();
    }

    static JwtAuthentication jwt(HttpConnectionManager hcm) {
        return unpack(filter(hcm, "envoy.filters.http.jwt_authn").getTypedConfig(), JwtAuthentication.class);
    }

    @Test
    void aRouterSelectedByARequestAuthenticationGetsItsFiltersBeforeRbacInIstiodsShape() {
        String yaml = MESH + GatewayAuthorizationTest.policy("edge", "selector: {matchLabels: {istio: ingressgateway}}",
                "DENY") + ra("istio-system", "edge-jwt", """
                selector: {matchLabels: {istio: ingressgateway}}
                jwtRules:
                - issuer: https://issuer.example
                  audiences: [shop]
                  jwks: '%s'
                  fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
                  fromParams: [token]
                  fromCookies: [session]
                  forwardOriginalToken: true
                  outputPayloadToHeader: x-jwt-payload
                  outputClaimToHeaders: [{header: x-sub, claim: sub}]""".formatted(JWKS));
        HttpConnectionManager hcm = routerHcm(snapshot(yaml));
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.jwt_authn", "istio_authn",
                "envoy.filters.http.rbac.deny", "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router"), names(hcm));
        assertEquals("type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                filter(hcm, "envoy.filters.http.jwt_authn").getTypedConfig().getTypeUrl());
        JwtAuthentication expected = JwtAuthentication.newBuilder()
                .putProviders("https://issuer.example", JwtProvider.newBuilder().setIssuer("https://issuer.example")
                        .addAudiences("shop").setLocalJwks(DataSource.newBuilder().setInlineString(JWKS))
                        .addFromHeaders(JwtHeader.newBuilder().setName("x-jwt").setValuePrefix("Bearer "))
                        .addFromParams("token").addFromCookies("session").setForward(true)
                        .setForwardPayloadHeader("x-jwt-payload")
                        .addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName("x-sub").setClaimName("sub"))
                        .setPayloadInMetadata("https://issuer.example").build())
                .addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRequires(JwtRequirement.newBuilder().setRequiresAny(JwtRequirementOrList.newBuilder()
                                .addRequirements(JwtRequirement.newBuilder().setProviderName("https://issuer.example"))
                                .addRequirements(JwtRequirement.newBuilder().setAllowMissing(Empty.getDefaultInstance())))))
                .setBypassCorsPreflight(true).build();
        assertEquals(expected, jwt(hcm));
        HttpFilter authn = filter(hcm, "istio_authn");
        assertEquals("type.googleapis.com/xds.type.v3.TypedStruct", authn.getTypedConfig().getTypeUrl());
        TypedStruct ts = unpack(authn.getTypedConfig(), TypedStruct.class);
        assertEquals("type.googleapis.com/io.istio.network.authn.Config", ts.getTypeUrl());
        assertEquals(Struct.getDefaultInstance(), ts.getValue());
    }

    @Test
    void aSidecarInboundHcmGetsTheFiltersBeforeItsRbacAndAProviderWithoutLocationsKeepsEnvoysDefaults() {
        String yaml = SidecarInboundTest.WEB + RbacTest.policy("p", "action: ALLOW\nrules: [{}]").substring(
                SidecarInboundTest.WEB.length()) + ra("demo", "web-jwt", "selector: {matchLabels: {app: web}}\n"
                + inline("iss-a"));
        HttpConnectionManager hcm = sidecarHcm(WEB_POD, snapshot(yaml));
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.jwt_authn", "istio_authn", "envoy.filters.http.rbac",
                "envoy.filters.http.router"), names(hcm));
        JwtProvider p = jwt(hcm).getProvidersOrThrow("iss-a");
        assertEquals(List.of(), p.getFromHeadersList());
        assertEquals(List.of(), p.getFromParamsList());
        assertEquals(List.of(), p.getFromCookiesList());
        assertEquals("", p.getForwardPayloadHeader());
        assertEquals(false, p.getForward());
        // Both of the port's chains (PERMISSIVE) and the other HTTP port carry them.
        Listener l = listener(WEB_POD, snapshot(yaml), "virtualInbound");
        for (String chain : List.of("inbound|8081||-raw_buffer", "inbound|9091||-tls")) {
            HttpConnectionManager other = unpack(SidecarInboundTest.onlyFilter(SidecarInboundTest.chain(l, chain))
                    .getTypedConfig(), HttpConnectionManager.class);
            assertEquals(names(hcm), names(other), chain);
        }
    }

    @Test
    void listenersWithTheJwtAndIstioFiltersPrintInAConfigDump() throws Exception {
        // The config dumps (pilot's /debug/config_dump, the gateway's admin) print with XdsTypes.REGISTRY: every type
        // packed in an Any must be in it, or the dump answers 500 ("Cannot find type for url").
        String yaml = SidecarInboundTest.WEB + ra("demo", "web-jwt", "selector: {matchLabels: {app: web}}\n"
                + inline("iss-a"));
        String json = com.google.protobuf.util.JsonFormat.printer().usingTypeRegistry(io.mesh.proto.XdsTypes.REGISTRY)
                .print(listener(WEB_POD, snapshot(yaml), "virtualInbound"));
        assertTrue(json.contains("\"@type\": \"type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication\""),
                json);
        assertTrue(json.contains("\"typeUrl\": \"type.googleapis.com/io.istio.http.peer_metadata.Config\""), json);
        assertTrue(json.contains("\"typeUrl\": \"type.googleapis.com/io.istio.network.authn.Config\""), json);
    }

    @Test
    void withoutARequestAuthenticationThereIsNoJwtFilter() {
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.router"), names(sidecarHcm(WEB_POD, snapshot(SidecarInboundTest.WEB))));
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router"),
                names(routerHcm(snapshot(MESH))));
    }

    @Test
    void scopeFollowsSelectorNamespaceAndRootNamespace() {
        String jwtFilters = "[istio.metadata_exchange, envoy.filters.http.jwt_authn, istio_authn, envoy.filters.http.router]";
        String none = "[istio.metadata_exchange, envoy.filters.http.router]";
        // A namespace-wide policy in demo: the sidecar in demo, not the router in istio-system.
        String nsWide = MESH + ra("demo", "ns", inline("a"));
        assertEquals(jwtFilters, names(sidecarHcm(WEB_POD, snapshot(nsWide))).toString());
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router"),
                names(routerHcm(snapshot(nsWide))));
        // A root-namespace policy without selector: the whole mesh.
        String mesh = MESH + ra("istio-system", "mesh", inline("a"));
        assertEquals(jwtFilters, names(sidecarHcm(WEB_POD, snapshot(mesh))).toString());
        assertEquals("envoy.filters.http.jwt_authn", names(routerHcm(snapshot(mesh))).get(1));
        // A selector that does not match, and a policy of another namespace: nothing.
        assertEquals(none, names(sidecarHcm(WEB_POD, snapshot(MESH + ra("demo", "other",
                "selector: {matchLabels: {app: other}}\n" + inline("a"))))).toString());
        assertEquals(none, names(sidecarHcm(WEB_POD, snapshot(MESH + ra("shop", "elsewhere", inline("a"))))).toString());
        // A root-namespace policy with a selector picks matching workloads of any namespace (as AuthorizationPolicy).
        assertEquals(jwtFilters, names(sidecarHcm(WEB_POD, snapshot(MESH + ra("istio-system", "web-everywhere",
                "selector: {matchLabels: {app: web}}\n" + inline("a"))))).toString());
    }

    @Test
    void rulesOfEveryPolicyThatSelectsTheProxyMergeIntoOneProviderPerIssuerSortedByIssuer() {
        String yaml = SidecarInboundTest.WEB + ra("istio-system", "mesh", inline("c-mesh"))
                + ra("demo", "a-ns", "jwtRules:\n- {issuer: b, jwks: '" + JWKS + "'}\n- {issuer: a, jwks: '" + JWKS
                        + "'}")
                + ra("demo", "b-web", "selector: {matchLabels: {app: web}}\njwtRules: [{issuer: a, jwks: '" + JWKS_2
                        + "', audiences: [dup]}]");
        JwtAuthentication j = jwt(sidecarHcm(WEB_POD, snapshot(yaml)));
        assertEquals(List.of("a", "b", "c-mesh"), List.copyOf(new TreeMap<>(j.getProvidersMap()).keySet()));
        assertEquals(List.of("a", "b", "c-mesh", ""), j.getRules(0).getRequires().getRequiresAny().getRequirementsList()
                .stream().map(JwtRequirement::getProviderName).toList());
        assertTrue(j.getRules(0).getRequires().getRequiresAny().getRequirements(3).hasAllowMissing());
        // Issuer "a" twice: the first policy by namespace and name (demo/a-ns) wins.
        assertEquals(JWKS, j.getProvidersOrThrow("a").getLocalJwks().getInlineString());
        assertEquals(List.of(), j.getProvidersOrThrow("a").getAudiencesList());
    }

    static MeshSnapshot snapshotWith(String yaml, JwksSource jwks) {
        Map<ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(yaml, "test.yaml").resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors(), raw.key().toString());
            config.put(raw.key(), r.model());
        }
        return SnapshotBuilder.build(1, config, ServiceSource.View.EMPTY, Map.of(), MeshSettings.DEFAULT, jwks);
    }

    @Test
    void aJwksUriIsInlinedAsFetchedAndAsARejectingJwksWhileNoneHasBeen() {
        String yaml = MESH + ra("istio-system", "mesh", """
                jwtRules:
                - {issuer: a, jwksUri: "https://keys.example/a.json"}
                - {issuer: b, jwksUri: "https://keys.example/b.json", jwks: '%s'}""".formatted(JWKS_2));
        MeshSnapshot fetched = snapshotWith(yaml, (uri, timeout) -> new JwksSource.Keys(
                uri.equals("https://keys.example/a.json") ? JWKS : "wrong", null));
        JwtAuthentication j = jwt(routerHcm(fetched));
        assertEquals(JWKS, j.getProvidersOrThrow("a").getLocalJwks().getInlineString());
        assertEquals(JWKS_2, j.getProvidersOrThrow("b").getLocalJwks().getInlineString(), "inline jwks wins");
        assertEquals(Map.of("https://keys.example/a.json", JWKS), fetched.jwks());

        MeshSnapshot never = snapshotWith(yaml, (uri, timeout) -> new JwksSource.Keys(null, "connection refused"));
        String rejecting = jwt(routerHcm(never)).getProvidersOrThrow("a").getLocalJwks().getInlineString();
        assertEquals(JwksSource.rejecting("https://keys.example/a.json"), rejecting);
        assertTrue(rejecting.startsWith("{\"keys\":[{\"e\":\"AQAB\",\"kid\":\"abc\",\"kty\":\"RSA\",\"n\":\""), rejecting);
        assertEquals(List.of("RequestAuthentication istio-system/mesh: no JWKS fetched yet from "
                + "https://keys.example/a.json (connection refused); tokens of issuer a are rejected until one is"),
                never.warnings());
    }
}
