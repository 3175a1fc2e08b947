package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Outbound non-HTTP ports: a "VIP_PORT" listener per service address, tcp_proxy to the service's cluster. */
class SidecarOutboundTcpTest {
    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");

    static String serviceEntry(String name, String namespace, String addresses, String ports) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: %1$s, namespace: %2$s}
                spec:
                  hosts: [%1$s.%2$s.svc.cluster.local]
                  addresses: %3$s
                  location: MESH_INTERNAL
                  ports: %4$s
                  resolution: STATIC
                  endpoints:
                  - {address: 10.0.1.1, serviceAccount: %1$s, labels: {security.istio.io/tlsMode: istio}}
                ---
                """.formatted(name, namespace, addresses, ports);
    }

    /** db: a TCP port and an HTTP one on two VIPs (one as a /32) and a wider block. */
    static final String DB = serviceEntry("db", "demo", "[198.51.100.100, 198.51.100.101/32, 10.20.0.0/16]",
            "[{number: 9000, name: tcp, protocol: TCP}, {number: 80, name: http, protocol: HTTP}]");

    static List<String> listenerNames(MeshSnapshot s) {
        return XdsGenerators.generate(Resources.V3.LISTENER_TYPE_URL, POD, s, Set.of()).stream()
                .map(m -> ((Listener) m).getName()).toList();
    }

    static String target(Listener l) {
        assertEquals(1, l.getFilterChainsCount(), l.getName());
        assertEquals(1, l.getFilterChains(0).getFiltersCount(), l.getName());
        assertEquals("envoy.filters.network.tcp_proxy", l.getFilterChains(0).getFilters(0).getName());
        TcpProxy tcp = unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(), TcpProxy.class);
        assertEquals(tcp.getCluster(), tcp.getStatPrefix());
        return tcp.getCluster();
    }

    @Test
    void aTcpServiceEntryWithAnAddressGetsAVipListenerToItsCluster() {
        MeshSnapshot s = snapshot(DB);
        Listener l = listener(POD, s, "198.51.100.100_9000");
        assertEquals("198.51.100.100", l.getAddress().getSocketAddress().getAddress());
        assertEquals(9000, l.getAddress().getSocketAddress().getPortValue());
        assertTrue(l.hasBindToPort() && !l.getBindToPort().getValue(), "not bound: virtualOutbound hands it over");
        assertEquals(TrafficDirection.OUTBOUND, l.getTrafficDirection());
        assertEquals("outbound|9000||db.demo.svc.cluster.local", target(l));
        // A /32 is its IP; a wider block is a chain matching it on the port's 0.0.0.0 listener (istiod's
        // prefix_ranges; ServiceEntryResolutionNoneTest); the HTTP port keeps 0.0.0.0_80 and gets no VIP listener.
        assertEquals("outbound|9000||db.demo.svc.cluster.local", target(listener(POD, s, "198.51.100.101_9000")));
        assertEquals(List.of("[10.20.0.0/16] [] -> outbound|9000||db.demo.svc.cluster.local", "[] [] -> PassthroughCluster"),
                ServiceEntryResolutionNoneTest.chains(listener(POD, s, "0.0.0.0_9000")));
        assertEquals(List.of("198.51.100.100_9000", "198.51.100.101_9000", "0.0.0.0_80", "0.0.0.0_9000", "virtualOutbound",
                "virtualInbound").stream().sorted().toList(), listenerNames(s).stream().sorted().toList());
        // The cluster the listener names exists for the sidecar, with auto mTLS (per endpoint: transport_socket_matches).
        AutoMtlsTest.tls(cluster(POD, s, "outbound|9000||db.demo.svc.cluster.local"));
    }

    @Test
    void aServiceEntrysTcpPortWithoutAnAddressTakesTheWholePort() {
        // Istio's IST0134: "If addresses is not set, all traffic on the port defined in the ServiceEntry is matched,
        // regardless of the host." So 0.0.0.0_9000 has one chain, to the first service by hostname, and no
        // passthrough or black-hole chain after it; the clusters keep their endpoints.
        MeshSnapshot s = snapshot(serviceEntry("db", "demo", "[]", "[{number: 9000, name: tcp, protocol: TCP}]")
                + serviceEntry("cache", "demo", "[]", "[{number: 9000, name: tcp, protocol: TCP}]")
                        .replace("resolution: STATIC", "resolution: DNS"));
        assertEquals("outbound|9000||cache.demo.svc.cluster.local", target(listener(POD, s, "0.0.0.0_9000")));
        assertEquals(List.of("0.0.0.0_9000", "virtualInbound", "virtualOutbound"), listenerNames(s).stream().sorted().toList());
        assertEquals(io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType.EDS,
                cluster(POD, s, "outbound|9000||db.demo.svc.cluster.local").getType());
        // Under REGISTRY_ONLY too: the port is the service's, nothing of it is black-holed.
        assertEquals("outbound|9000||db.demo.svc.cluster.local", target(listener(POD,
                snapshot(serviceEntry("db", "demo", "[]", "[{number: 9000, name: tcp, protocol: TCP}]"),
                        OutboundTrafficPolicyTest.REGISTRY_ONLY), "0.0.0.0_9000")));
    }

    @Test
    void aServiceEntrysTcpPortWithoutAnAddressLeavesAnHttpPortAndOtherPortsAlone() {
        MeshSnapshot s = snapshot(serviceEntry("db", "demo", "[]", "[{number: 9000, name: tcp, protocol: TCP}]")
                + serviceEntry("web", "demo", "[]", "[{number: 9000, name: http, protocol: HTTP}]")
                + serviceEntry("cache", "demo", "[198.51.100.100]", "[{number: 6379, name: tcp, protocol: TCP}]"));
        // One protocol per wildcard port (no protocol sniffing): 9000 stays the HTTP service's.
        assertTrue(listener(POD, s, "0.0.0.0_9000").getFilterChains(0).getFilters(0).getName()
                .contains("http_connection_manager"));
        assertEquals(List.of("0.0.0.0_9000", "198.51.100.100_6379", "virtualInbound", "virtualOutbound"),
                listenerNames(s).stream().sorted().toList());
    }

    @Test
    void theFirstServiceByHostnameWinsAnAddressAndPortBothClaim() {
        MeshSnapshot s = snapshot(DB + serviceEntry("cache", "demo", "[198.51.100.100]",
                "[{number: 9000, name: tcp, protocol: TCP}, {number: 9001, name: tcp-2, protocol: TCP}]"));
        assertEquals("outbound|9000||cache.demo.svc.cluster.local", target(listener(POD, s, "198.51.100.100_9000")));
        assertEquals("outbound|9001||cache.demo.svc.cluster.local", target(listener(POD, s, "198.51.100.100_9001")));
        assertEquals("outbound|9000||db.demo.svc.cluster.local", target(listener(POD, s, "198.51.100.101_9000")));
        assertEquals(1, listenerNames(s).stream().filter("198.51.100.100_9000"::equals).count());
    }

    @Test
    void onlyServicesTheSidecarSeesGetListeners() {
        MeshSnapshot s = snapshot(DB + serviceEntry("other", "elsewhere", "[203.0.113.7]",
                "[{number: 9000, name: tcp, protocol: TCP}]") + """
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: demo}
                spec:
                  egress:
                  - hosts: ["./*"]
                """);
        List<String> names = listenerNames(s);
        assertTrue(names.contains("198.51.100.100_9000"), names.toString());
        assertFalse(names.contains("203.0.113.7_9000"), names.toString());
        ProxyInfo elsewhere = sidecar("10.0.0.9", "elsewhere");
        assertEquals("outbound|9000||other.elsewhere.svc.cluster.local", target(listener(elsewhere, s,
                "203.0.113.7_9000")));
    }

    @Test
    void aVirtualServicesTcpRouteShiftsTheServicesConnectionsByWeight() {
        // Istio's TCP traffic shifting: db's port 9000 goes 80/20 to two versions (subsets of one host here).
        MeshSnapshot s = snapshot(DB + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: db, namespace: demo}
                spec:
                  host: db
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v2, labels: {version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: db, namespace: demo}
                spec:
                  hosts: [db]
                  tcp:
                  - match: [{port: 9000}]
                    route:
                    - {destination: {host: db, subset: v1}, weight: 80}
                    - {destination: {host: db, subset: v2}, weight: 20}
                """);
        Listener l = listener(POD, s, "198.51.100.100_9000");
        TcpProxy tcp = unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(), TcpProxy.class);
        assertEquals(List.of("outbound|9000|v1|db.demo.svc.cluster.local 80", "outbound|9000|v2|db.demo.svc.cluster.local 20"),
                tcp.getWeightedClusters().getClustersList().stream().map(c -> c.getName() + " " + c.getWeight()).toList());
        // A port the route does not match keeps the service's cluster.
        MeshSnapshot other = snapshot(DB + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: db, namespace: demo}
                spec:
                  hosts: [db]
                  tcp:
                  - match: [{port: 9999}]
                    route: [{destination: {host: db, port: {number: 9999}}}]
                """);
        assertEquals("outbound|9000||db.demo.svc.cluster.local", target(listener(POD, other, "198.51.100.100_9000")));
    }
}
