package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.pilot.model.ExtAuthzProviders;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * AuthorizationPolicy action CUSTOM with an envoyExtAuthzHttp provider -> istiod's shadow RBAC + ext_authz filters,
 * asserted on the protos of the listeners a sidecar and a router get, and the provider's cluster in their CDS.
 */
class ExtAuthzTest {
    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");

    /** The authz service, as a Kubernetes Service would be in the registry: foo/ext-authz, HTTP on 8000. */
    static final String EXT_AUTHZ_SERVICE = SidecarFixtures.services("ext-authz", "foo",
            "[ext-authz.foo.svc.cluster.local]", "[{number: 8000, name: http, protocol: HTTP}]",
            "{address: 10.0.5.5}");

    static final String PROVIDERS = """
            - name: sample-ext-authz
              envoyExtAuthzHttp:
                service: foo/ext-authz.foo.svc.cluster.local
                port: 8000
                timeout: 0.5s
                pathPrefix: /check
                failOpen: true
                statusOnError: "503"
                includeRequestHeadersInCheck: [x-ext-authz, "x-b3-*", "*-id"]
                includeAdditionalHeadersInCheck: {x-z: "2", x-a: "1"}
                includeRequestBodyInCheck: {maxRequestBytes: 4096, allowPartialMessage: true}
                headersToUpstreamOnAllow: [x-user]
                headersToDownstreamOnDeny: [x-reason]
                headersToDownstreamOnAllow: [set-cookie]
            - name: minimal
              envoyExtAuthzHttp: {service: ext-authz.foo.svc.cluster.local, port: 8000}
            - name: absent
              envoyExtAuthzHttp: {service: nowhere/ext-authz.nowhere.svc.cluster.local, port: 8000}
            """;

    static final MeshSettings MESH = MeshSettings.DEFAULT.withExtAuthzProviders(ExtAuthzProviders.parse(PROVIDERS));

    static String policy(String namespace, String name, String body) {
        return "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: %s, namespace: %s}
                spec:
                %s
                """.formatted(name, namespace, body.indent(2));
    }

    static String custom(String provider) {
        return policy("demo", "ext", """
                action: CUSTOM
                provider: {name: %s}
                rules:
                - to: [{operation: {paths: ["/headers"]}}]""".formatted(provider));
    }

    static final String DENY_ADMIN = policy("demo", "no-admin", """
            action: DENY
            rules:
            - to: [{operation: {paths: ["/admin"]}}]""");

    static MeshSnapshot mesh(String yaml) {
        return snapshot(SidecarInboundTest.WEB + EXT_AUTHZ_SERVICE + yaml, MESH);
    }

    static List<HttpFilter> httpFilters(Listener l, int chain) {
        Filter hcm = l.getFilterChains(chain).getFilters(0);
        return unpack(hcm.getTypedConfig(), HttpConnectionManager.class).getHttpFiltersList();
    }

    static List<String> names(List<HttpFilter> filters) {
        return filters.stream().map(HttpFilter::getName).toList();
    }

    static HttpFilter named(List<HttpFilter> filters, String name) {
        return filters.stream().filter(f -> f.getName().equals(name)).findFirst().orElseThrow();
    }

    /** Exactly istiod's generateHTTPConfig output for the full provider above. */
    static final String FULL_EXT_AUTHZ = """
            http_service {
              server_uri {
                uri: "http://ext-authz.foo.svc.cluster.local"
                cluster: "outbound|8000||ext-authz.foo.svc.cluster.local"
                timeout { nanos: 500000000 }
              }
              path_prefix: "/check"
              authorization_request {
                allowed_headers {
                  patterns { exact: "x-ext-authz" ignore_case: true }
                  patterns { prefix: "x-b3-" ignore_case: true }
                  patterns { suffix: "-id" ignore_case: true }
                }
                headers_to_add { key: "x-a" value: "1" }
                headers_to_add { key: "x-z" value: "2" }
              }
              authorization_response {
                allowed_upstream_headers { patterns { exact: "x-user" ignore_case: true } }
                allowed_client_headers { patterns { exact: "x-reason" ignore_case: true } }
                allowed_client_headers_on_success { patterns { exact: "set-cookie" ignore_case: true } }
              }
            }
            failure_mode_allow: true
            with_request_body { max_request_bytes: 4096 allow_partial_message: true }
            status_on_error { code: ServiceUnavailable }
            transport_api_version: V3
            filter_enabled_metadata {
              filter: "envoy.filters.http.rbac"
              path { key: "istio_ext_authz_shadow_effective_policy_id" }
              value { string_match { prefix: "istio-ext-authz" } }
            }
            """;

    @Test
    void aSidecarGetsTheShadowRbacThenExtAuthzBeforeTheDenyFilter() throws Exception {
        Listener inbound = listener(POD, mesh(custom("sample-ext-authz") + DENY_ADMIN), "virtualInbound");
        List<HttpFilter> filters = httpFilters(inbound, 0);
        // istiod's order: metadata exchange, CUSTOM (rbac in shadow mode, ext_authz), authn, DENY, ALLOW, router.
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.rbac", "envoy.filters.http.ext_authz",
                "envoy.filters.http.rbac.deny", "envoy.filters.http.router"), names(filters));

        var rbac = unpack(filters.get(1).getTypedConfig(), io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class);
        assertTrue(!rbac.hasRules(), "CUSTOM rules never enforce in the RBAC filter: " + rbac);
        assertEquals("istio_ext_authz_", rbac.getShadowRulesStatPrefix());
        assertEquals(RBAC.Action.DENY, rbac.getShadowRules().getAction());
        assertEquals(List.of("istio-ext-authz-sample-ext-authz-ns[demo]-policy[ext]-rule[0]"),
                List.copyOf(rbac.getShadowRules().getPoliciesMap().keySet()));
        var path = rbac.getShadowRules().getPoliciesMap().values().iterator().next().getPermissions(0).getAndRules()
                .getRules(0).getOrRules().getRules(0).getAndRules().getRules(0);
        assertEquals("/headers", path.getUrlPath().getPath().getExact());

        ExtAuthz expected = TextFormat.parse(FULL_EXT_AUTHZ, ExtAuthz.class);
        assertEquals(expected, unpack(filters.get(2).getTypedConfig(), ExtAuthz.class));

        // The DENY policy keeps its own filter; the CUSTOM one is not in it.
        var deny = unpack(named(filters, "envoy.filters.http.rbac.deny").getTypedConfig(),
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class);
        assertEquals(List.of("ns[demo]-policy[no-admin]-rule[0]"), List.copyOf(deny.getRules().getPoliciesMap().keySet()));
    }

    @Test
    void aProviderWithOnlyServiceAndPortGetsIstiodsDefaults() throws Exception {
        List<HttpFilter> filters = httpFilters(listener(POD, mesh(custom("minimal")), "virtualInbound"), 0);
        ExtAuthz expected = TextFormat.parse("""
                http_service {
                  server_uri {
                    uri: "http://ext-authz.foo.svc.cluster.local"
                    cluster: "outbound|8000||ext-authz.foo.svc.cluster.local"
                    timeout { seconds: 600 }
                  }
                }
                transport_api_version: V3
                filter_enabled_metadata {
                  filter: "envoy.filters.http.rbac"
                  path { key: "istio_ext_authz_shadow_effective_policy_id" }
                  value { string_match { prefix: "istio-ext-authz" } }
                }
                """, ExtAuthz.class);
        assertEquals(expected, unpack(named(filters, "envoy.filters.http.ext_authz").getTypedConfig(), ExtAuthz.class));
    }

    @Test
    void theCustomFiltersGoBeforeTheJwtFilters() {
        String ra = JwtAuthnTest.ra("demo", "jwt", JwtAuthnTest.inline("issuer-foo"));
        List<String> names = names(httpFilters(listener(POD, mesh(custom("minimal") + ra), "virtualInbound"), 0));
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.rbac", "envoy.filters.http.ext_authz",
                "envoy.filters.http.jwt_authn", "istio_authn", "envoy.filters.http.router"), names);
    }

    @Test
    void aProviderTheMeshDoesNotDefineOrWhoseServiceIsNotInTheRegistryDeniesWhatTheRulesMatch() {
        for (String provider : List.of("undefined", "absent")) {
            List<HttpFilter> filters = httpFilters(listener(POD, mesh(custom(provider)), "virtualInbound"), 0);
            assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.rbac.deny", "envoy.filters.http.router"),
                    names(filters), provider);
            var deny = unpack(filters.get(1).getTypedConfig(),
                    io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class);
            assertEquals(List.of("ns[demo]-policy[ext]-rule[0]"), List.copyOf(deny.getRules().getPoliciesMap().keySet()));
        }
        assertEquals(List.of("AuthorizationPolicy demo/ext: provider \"undefined\" is not an envoyExtAuthzHttp provider"
                + " of extension-providers; the requests its rules match are denied"),
                mesh(custom("undefined")).warnings());
        assertEquals(List.of("AuthorizationPolicy demo/ext: provider \"absent\" has service"
                + " nowhere/ext-authz.nowhere.svc.cluster.local, which is not in the registry; the requests its rules"
                + " match are denied"), mesh(custom("absent")).warnings());
        assertEquals(List.of(), mesh(custom("minimal")).warnings());
    }

    @Test
    void twoProvidersForOneWorkloadDenyWhatTheRulesMatchAsIstiodDoes() {
        String second = policy("istio-system", "mesh-wide", """
                action: CUSTOM
                provider: {name: minimal}
                rules: [{}]""");
        List<HttpFilter> filters = httpFilters(listener(POD, mesh(custom("sample-ext-authz") + second),
                "virtualInbound"), 0);
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.rbac.deny", "envoy.filters.http.router"),
                names(filters));
    }

    @Test
    void aRootNamespacePolicyAndANamespacePolicyOfOneProviderShareTheShadowRules() {
        String meshWide = policy("istio-system", "mesh-wide", """
                action: CUSTOM
                provider: {name: minimal}
                rules: [{to: [{operation: {methods: [POST]}}]}]""");
        var rbac = unpack(named(httpFilters(listener(POD, mesh(custom("minimal") + meshWide), "virtualInbound"), 0),
                "envoy.filters.http.rbac").getTypedConfig(), io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class);
        assertEquals(java.util.Set.of("istio-ext-authz-minimal-ns[demo]-policy[ext]-rule[0]",
                "istio-ext-authz-minimal-ns[istio-system]-policy[mesh-wide]-rule[0]"),
                rbac.getShadowRules().getPoliciesMap().keySet());
    }

    @Test
    void aGatewayGetsTheSameFiltersOnItsHttpServers() throws Exception {
        String gw = custom("sample-ext-authz").replace("namespace: demo", "namespace: istio-system");
        MeshSnapshot s = mesh(SidecarFixtures.PUBLIC_GATEWAY + gw);
        List<HttpFilter> filters = httpFilters(listener(router(), s, "0.0.0.0_8080"), 0);
        assertEquals(List.of("envoy.filters.http.rbac", "envoy.filters.http.ext_authz"),
                names(filters).subList(names(filters).indexOf("envoy.filters.http.rbac"),
                        names(filters).indexOf("envoy.filters.http.rbac") + 2));
        var rbac = unpack(filters.get(names(filters).indexOf("envoy.filters.http.rbac")).getTypedConfig(),
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class);
        assertEquals(List.of("istio-ext-authz-sample-ext-authz-ns[istio-system]-policy[ext]-rule[0]"),
                List.copyOf(rbac.getShadowRules().getPoliciesMap().keySet()));
        assertEquals(TextFormat.parse(FULL_EXT_AUTHZ, ExtAuthz.class),
                unpack(named(filters, "envoy.filters.http.ext_authz").getTypedConfig(), ExtAuthz.class));
        assertTrue(names(filters).indexOf("envoy.filters.http.ext_authz") < names(filters).indexOf("envoy.filters.http.router"));
    }

    @Test
    void theProvidersClusterIsInTheCdsOfSidecarsAndRouters() {
        MeshSnapshot s = mesh(custom("sample-ext-authz") + SidecarFixtures.PUBLIC_GATEWAY);
        String name = "outbound|8000||ext-authz.foo.svc.cluster.local";
        assertEquals(name, cluster(POD, s, name).getName());
        assertEquals(name, cluster(router(), s, name).getName());
    }

    @Test
    void onTcpPortsACustomPolicyWithAnHttpProviderIsIgnoredAsIstiodDoes() {
        String tcp = SidecarFixtures.services("db", "demo", "[db.demo.svc.cluster.local]",
                "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.0.1}");
        MeshSnapshot served = mesh(tcp + custom("minimal"));
        MeshSnapshot unserved = mesh(tcp + custom("undefined"));
        assertEquals(List.of(), rbacFiltersOnPort(served, 5432));
        assertEquals(List.of(SidecarInbound.NETWORK_RBAC_DENY), rbacFiltersOnPort(unserved, 5432));
    }

    static List<String> rbacFiltersOnPort(MeshSnapshot s, int port) {
        return listener(POD, s, "virtualInbound").getFilterChainsList().stream()
                .filter(c -> c.getFilterChainMatch().getDestinationPort().getValue() == port).findFirst().orElseThrow()
                .getFiltersList().stream().map(Filter::getName).filter(n -> n.contains("rbac")).toList();
    }
}
