package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.services;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Outbound TLS and HTTPS ports on sidecars, as istiod builds them: the app's own TLS passes through, and the
 * ClientHello's SNI picks the destination (a service's hostname, or a VirtualService tls route's {@code sniHosts}).
 * This is what lets a ServiceEntry open an external HTTPS API under REGISTRY_ONLY.
 */
class SidecarOutboundTlsTest {
    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");

    /** An external HTTPS API, as Istio's egress docs declare one: no address, DNS resolution (NONE for a wildcard). */
    static String external(String name, String host, String protocol) {
        return """
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: %s, namespace: demo}
                spec:
                  hosts: [%s]
                  location: MESH_EXTERNAL
                  ports: [{number: 443, name: tls, protocol: %s}]
                  resolution: %s
                """.formatted(name, host, protocol, host.contains("*") ? "NONE" : "DNS");
    }

    /** Each chain as "server names -> cluster" (or "-> cluster weight, ..." for weighted ones). */
    static List<String> chains(Listener l) {
        return l.getFilterChainsList().stream().map(SidecarOutboundTlsTest::chain).toList();
    }

    static String chain(FilterChain c) {
        assertEquals(1, c.getFiltersCount());
        TcpProxy tcp = unpack(c.getFilters(0).getTypedConfig(), TcpProxy.class);
        String to = tcp.hasWeightedClusters() ? String.join(", ", tcp.getWeightedClusters().getClustersList().stream()
                .map(w -> w.getName() + " " + w.getWeight()).toList()) : tcp.getCluster();
        return c.getFilterChainMatch().getServerNamesList() + " -> " + to;
    }

    static boolean inspectsTls(Listener l) {
        return l.getListenerFiltersList().stream().anyMatch(f -> f.getName().equals("envoy.filters.listener.tls_inspector"));
    }

    @Test
    void externalTlsHostsWithoutAnAddressArePickedBySniAndTheRestPassesThrough() {
        MeshSnapshot s = snapshot(external("github", "api.github.com", "TLS") + external("example", "\"*.example.com\"", "HTTPS"));
        Listener l = listener(POD, s, "0.0.0.0_443");
        assertTrue(l.hasBindToPort() && !l.getBindToPort().getValue(), "not bound: virtualOutbound hands it over");
        assertTrue(inspectsTls(l), "the SNI comes from the tls_inspector");
        assertEquals(List.of("[*.example.com] -> outbound|443||*.example.com",
                "[api.github.com] -> outbound|443||api.github.com",
                "[] -> PassthroughCluster"), chains(l));
        assertEquals("PassthroughFilterChain", l.getFilterChains(2).getName());
        // The cluster the chain names exists, and the app's TLS is not wrapped in mesh mTLS (the host is not in the mesh).
        assertFalse(cluster(POD, s, "outbound|443||api.github.com").hasTransportSocket());
    }

    @Test
    void underRegistryOnlyAnSniNoServiceEntryDeclaresIsDropped() {
        MeshSnapshot s = snapshot(external("github", "api.github.com", "TLS"), OutboundTrafficPolicyTest.REGISTRY_ONLY);
        assertEquals(List.of("[api.github.com] -> outbound|443||api.github.com", "[] -> BlackHoleCluster"),
                chains(listener(POD, s, "0.0.0.0_443")));
    }

    @Test
    void aTlsRouteSendsAnSniToAnotherServiceAsTheEgressGatewayPatternDoes() {
        // Istio's egress gateway task: the sidecar sends TLS for the external host to the egress gateway's service.
        MeshSnapshot s = snapshot(external("github", "api.github.com", "TLS")
                + services("egress", "istio-system", "[istio-egressgateway.istio-system.svc.cluster.local]",
                        "[{number: 443, name: tls, protocol: TLS}]", "{address: 10.0.5.5}")
                + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: github, namespace: demo}
                spec:
                  hosts: [api.github.com]
                  gateways: [mesh]
                  tls:
                  - match: [{port: 443, sniHosts: [api.github.com], gateways: [mesh]}]
                    route:
                    - destination: {host: istio-egressgateway.istio-system.svc.cluster.local, port: {number: 443}}
                """);
        // The egress gateway's own hostname keeps its chain; the route's name goes to the egress gateway.
        assertEquals(List.of("[api.github.com] -> outbound|443||istio-egressgateway.istio-system.svc.cluster.local",
                "[istio-egressgateway.istio-system.svc.cluster.local] -> outbound|443||istio-egressgateway.istio-system.svc.cluster.local",
                "[] -> PassthroughCluster"), chains(listener(POD, s, "0.0.0.0_443")));
    }

    @Test
    void aServiceWithAnAddressTakesItsTlsRoutesOnItsVipListener() {
        MeshSnapshot s = snapshot(services("db", "demo", "[db.demo.svc.cluster.local]",
                "[{number: 5432, name: tls, protocol: TLS}]", "{address: 10.0.1.1}").replace("hosts:",
                        "addresses: [198.51.100.100]\n  hosts:") + services("db-v2", "demo", "[db-v2.demo.svc.cluster.local]",
                "[{number: 5432, name: tls, protocol: TLS}]", "{address: 10.0.1.2}") + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: db, namespace: demo}
                spec:
                  hosts: [db.demo.svc.cluster.local]
                  tls:
                  - match: [{sniHosts: [v2.db.demo.svc.cluster.local]}]
                    route: [{destination: {host: db-v2.demo.svc.cluster.local}}]
                  - match: [{sniHosts: [db.demo.svc.cluster.local, v2.db.demo.svc.cluster.local]}]
                    route:
                    - {destination: {host: db.demo.svc.cluster.local}, weight: 90}
                    - {destination: {host: db-v2.demo.svc.cluster.local}, weight: 10}
                """);
        Listener l = listener(POD, s, "198.51.100.100_5432");
        assertTrue(inspectsTls(l));
        // An SNI the first route took stays with it; no default chain next to the routes (istiod's rule).
        assertEquals(List.of("[v2.db.demo.svc.cluster.local] -> outbound|5432||db-v2.demo.svc.cluster.local",
                "[db.demo.svc.cluster.local] -> outbound|5432||db.demo.svc.cluster.local 90, "
                        + "outbound|5432||db-v2.demo.svc.cluster.local 10"), chains(l));
    }

    @Test
    void aTlsPortWithAnAddressAndNoRouteKeepsOneChainToItsServiceWithoutSni() {
        MeshSnapshot s = snapshot(services("db", "demo", "[db.demo.svc.cluster.local]",
                "[{number: 5432, name: tls, protocol: TLS}]", "{address: 10.0.1.1}").replace("hosts:",
                        "addresses: [198.51.100.100]\n  hosts:"));
        Listener l = listener(POD, s, "198.51.100.100_5432");
        assertFalse(inspectsTls(l), "its address says where it goes");
        assertEquals(List.of("[] -> outbound|5432||db.demo.svc.cluster.local"), chains(l));
    }

    @Test
    void aPortThatIsHttpForAnotherServiceKeepsItsHttpListener() {
        MeshSnapshot s = snapshot(external("github", "api.github.com", "TLS")
                + services("web", "demo", "[web.demo.svc.cluster.local]", "[{number: 443, name: http, protocol: HTTP}]",
                        "{address: 10.0.1.1}"));
        Listener l = listener(POD, s, "0.0.0.0_443");
        assertEquals("envoy.filters.network.http_connection_manager", l.getFilterChains(0).getFilters(0).getName());
    }
}
