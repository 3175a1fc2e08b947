package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * AuthorizationPolicy on the ingress gateway, the Istio way: a policy in istio-system (the root namespace) whose selector
 * picks the gateway (istio: ingressgateway) puts RBAC filters on every gateway server, and only there; a root-namespace
 * policy without a selector applies to every proxy.
 */
class GatewayAuthorizationTest {

    static final String MESH = GatewayVirtualServiceMergeTest.BASE + GatewayVirtualServiceMergeTest.vs("shop",
            "[shop.example.com]", "/", "web") + "---\n" + SidecarInboundTest.WEB;

    static String policy(String name, String selector, String action) {
        return "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: %s, namespace: istio-system}
                spec:
                  %s
                  action: %s
                  rules:
                  - to: [{operation: {paths: ["/admin*"]}}]
                """.formatted(name, selector, action);
    }

    /** The HTTP filter names of a listener's first filter chain's connection manager. */
    static List<String> httpFilters(Listener l) throws InvalidProtocolBufferException {
        HttpConnectionManager hcm = l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
        return hcm.getHttpFiltersList().stream().map(HttpFilter::getName).toList();
    }

    @Test
    void aPolicySelectingTheGatewayGuardsItsServersAndNoSidecar() throws Exception {
        String yaml = MESH + policy("edge", "selector: {matchLabels: {istio: ingressgateway}}", "DENY");
        // Authorization first, then CORS, as istiod orders them: a policy sees preflights too (Istio's known caveat:
        // a DENY on OPTIONS, or an ALLOW that leaves it out, refuses the browser's preflight).
        assertEquals(List.of("envoy.filters.http.rbac.deny", "envoy.filters.http.cors", "envoy.filters.http.fault",
                "envoy.filters.http.router"),
                httpFilters(listener(GeneratorGoldenTest.router(), snapshot(yaml), "0.0.0.0_8080")));
        assertEquals(List.of(), List.copyOf(RbacTest.filters(yaml).keySet()), "the selector picks the gateway, not the sidecar");
    }

    @Test
    void aRootNamespacePolicyWithoutASelectorAppliesToEveryProxy() throws Exception {
        String yaml = MESH + policy("mesh-wide", "", "DENY");
        assertEquals(List.of("envoy.filters.http.rbac.deny", "envoy.filters.http.cors", "envoy.filters.http.fault",
                "envoy.filters.http.router"),
                httpFilters(listener(GeneratorGoldenTest.router(), snapshot(yaml), "0.0.0.0_8080")));
        assertEquals(List.of("envoy.filters.http.rbac.deny"), List.copyOf(RbacTest.filters(yaml).keySet()));
    }
}
