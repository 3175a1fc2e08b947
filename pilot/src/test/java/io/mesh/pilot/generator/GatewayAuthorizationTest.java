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
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.rbac.deny", "envoy.filters.http.cors", "envoy.filters.http.fault",
                "envoy.filters.http.router"),
                httpFilters(listener(GeneratorGoldenTest.router(), snapshot(yaml), "0.0.0.0_8080")));
        assertEquals(List.of(), List.copyOf(RbacTest.filters(yaml).keySet()), "the selector picks the gateway, not the sidecar");
    }

    @Test
    void aPolicySelectingTheGatewayGuardsItsTcpServersAsNetworkRbac() throws Exception {
        // A TCP server and a passthrough server, each with its route, and a DENY for a source address on the TCP port.
        String yaml = SidecarFixtures.services("db", "demo", "[db.demo.svc.cluster.local]",
                "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.0.2, ports: {tcp: 5432}}") + """
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: l4, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 15432, name: tcp, protocol: TCP}
                    hosts: ["*"]
                  - port: {number: 15443, name: tls, protocol: TLS}
                    hosts: ["*"]
                    tls: {mode: PASSTHROUGH}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: db, namespace: demo}
                spec:
                  hosts: ["*"]
                  gateways: [istio-system/l4]
                  tcp:
                  - route: [{destination: {host: db.demo.svc.cluster.local, port: {number: 5432}}}]
                  tls:
                  - match: [{sniHosts: [db.example.com]}]
                    route: [{destination: {host: db.demo.svc.cluster.local, port: {number: 5432}}}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: edge-tcp, namespace: istio-system}
                spec:
                  selector: {matchLabels: {istio: ingressgateway}}
                  action: DENY
                  rules:
                  - from: [{source: {ipBlocks: ["203.0.113.0/24"]}}]
                    to: [{operation: {ports: ["15432"]}}]
                """;
        for (String name : List.of("0.0.0.0_15432", "0.0.0.0_15443")) {
            Listener l = listener(GeneratorGoldenTest.router(), snapshot(yaml), name);
            assertEquals(List.of("envoy.filters.network.rbac.deny", "envoy.filters.network.tcp_proxy"),
                    l.getFilterChains(0).getFiltersList().stream().map(f -> f.getName()).toList(), name);
            var rbac = l.getFilterChains(0).getFilters(0).getTypedConfig()
                    .unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
            assertEquals(java.util.Set.of("ns[istio-system]-policy[edge-tcp]-rule[0]"), rbac.getRules().getPoliciesMap().keySet());
        }
    }

    @Test
    void aRootNamespacePolicyWithoutASelectorAppliesToEveryProxy() throws Exception {
        String yaml = MESH + policy("mesh-wide", "", "DENY");
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.rbac.deny", "envoy.filters.http.cors", "envoy.filters.http.fault",
                "envoy.filters.http.router"),
                httpFilters(listener(GeneratorGoldenTest.router(), snapshot(yaml), "0.0.0.0_8080")));
        assertEquals(List.of("envoy.filters.http.rbac.deny"), List.copyOf(RbacTest.filters(yaml).keySet()));
    }
}
