package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * ServiceEntries with {@code resolution: NONE} ("assume that incoming connections have already been resolved"), as
 * istiod serves them to sidecars: ORIGINAL_DST clusters; a TCP port's connections told apart by the entry's IPs and CIDR
 * blocks, or, without addresses, by its endpoints' IPs, or else the whole port (not for an entry with a workload
 * selector); HTTP ports routed by host as usual; a port's {@code targetPort} as the port the original destination is
 * dialled at.
 */
class ServiceEntryResolutionNoneTest {
    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");
    static final String PG = "pg.external.example";
    static final String MONGO = "mongo.external.example";

    /** A ServiceEntry for HOST with resolution NONE; {@code more} adds spec lines (addresses, endpoints, location). */
    static String none(String name, String host, String ports, String more) {
        return """
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: %s, namespace: demo}
                spec:
                  hosts: [%s]
                  ports: %s
                  resolution: NONE
                %s
                """.formatted(name, host, ports, more.indent(2));
    }

    /** pg: an IP and a CIDR block, a TCP port and an HTTP one (MESH_EXTERNAL, the default). */
    static final String PG_ENTRY = none("pg", PG, "[{number: 5432, name: tcp, protocol: TCP}, {number: 8080, name: http, protocol: HTTP}]",
            "addresses: [198.51.100.50, 10.20.0.0/16]");

    static List<String> chains(Listener l) {
        return l.getFilterChainsList().stream().map(ServiceEntryResolutionNoneTest::chain).toList();
    }

    /** "[prefix ranges] [server names] -> cluster". */
    static String chain(FilterChain c) {
        assertEquals(1, c.getFiltersCount());
        TcpProxy tcp = unpack(c.getFilters(0).getTypedConfig(), TcpProxy.class);
        return c.getFilterChainMatch().getPrefixRangesList().stream()
                .map(r -> r.getAddressPrefix() + "/" + r.getPrefixLen().getValue()).toList()
                + " " + c.getFilterChainMatch().getServerNamesList() + " -> " + tcp.getCluster();
    }

    static List<String> listenerNames(ProxyInfo proxy, MeshSnapshot s) {
        return XdsGenerators.generate(Resources.V3.LISTENER_TYPE_URL, proxy, s, Set.of()).stream()
                .map(m -> ((Listener) m).getName()).sorted().toList();
    }

    static void assertOriginalDst(Cluster c) {
        assertEquals(Cluster.DiscoveryType.ORIGINAL_DST, c.getType(), c.getName());
        assertEquals(Cluster.LbPolicy.CLUSTER_PROVIDED, c.getLbPolicy(), c.getName());
        assertFalse(c.hasEdsClusterConfig(), c.getName());
    }

    @Test
    void withAnIpAndACidrBlockTheTcpPortIsToldByBothAndGoesToTheOriginalDestination() {
        MeshSnapshot s = snapshot(PG_ENTRY, OutboundTrafficPolicyTest.REGISTRY_ONLY);
        assertOriginalDst(cluster(POD, s, "outbound|5432||" + PG));
        assertOriginalDst(cluster(POD, s, "outbound|8080||" + PG));
        // The IP: a listener of its own; the block: a chain matching it on the port's shared listener, and the rest of
        // the port is still refused under REGISTRY_ONLY.
        assertEquals(List.of("[] [] -> outbound|5432||" + PG), chains(listener(POD, s, "198.51.100.50_5432")));
        Listener port = listener(POD, s, "0.0.0.0_5432");
        assertEquals(List.of("[10.20.0.0/16] [] -> outbound|5432||" + PG, "[] [] -> BlackHoleCluster"), chains(port));
        assertFalse(port.getBindToPort().getValue());
        assertEquals(0, port.getListenerFiltersCount(), "no SNI to inspect");
        // The HTTP port is routed by host as usual, to the ORIGINAL_DST cluster; no wildcard pod names (Kubernetes only).
        VirtualHost vh = routes(POD, s, "8080").getVirtualHosts(0);
        assertTrue(vh.getDomainsList().contains(PG), vh.getDomainsList().toString());
        assertFalse(vh.getDomainsList().contains("*." + PG), vh.getDomainsList().toString());
        assertEquals("outbound|8080||" + PG, vh.getRoutes(0).getRoute().getCluster());
        assertEquals(List.of("0.0.0.0_5432", "0.0.0.0_8080", "198.51.100.50_5432", "virtualInbound", "virtualOutbound"),
                listenerNames(POD, s));
    }

    @Test
    void underAllowAnyTheRestOfACidrPortPassesThrough() {
        assertEquals(List.of("[10.20.0.0/16] [] -> outbound|5432||" + PG, "[] [] -> PassthroughCluster"),
                chains(listener(POD, snapshot(PG_ENTRY), "0.0.0.0_5432")));
    }

    @Test
    void withoutAddressesOrEndpointsATcpPortIsTheServicesWholePortAndAnHttpPortIsRoutedByHost() {
        MeshSnapshot s = snapshot(none("mongo", MONGO, "[{number: 27017, name: mongo, protocol: TCP}]", "")
                + none("api", "api.external.example", "[{number: 8000, name: http, protocol: HTTP}]", ""),
                OutboundTrafficPolicyTest.REGISTRY_ONLY);
        assertOriginalDst(cluster(POD, s, "outbound|27017||" + MONGO));
        // Every connection to the port is the service's: no passthrough or black-hole chain after it.
        assertEquals(List.of("[] [] -> outbound|27017||" + MONGO), chains(listener(POD, s, "0.0.0.0_27017")));
        VirtualHost vh = routes(POD, s, "8000").getVirtualHosts(0);
        assertTrue(vh.getDomainsList().contains("api.external.example"), vh.getDomainsList().toString());
        assertEquals("outbound|8000||api.external.example", vh.getRoutes(0).getRoute().getCluster());
        assertOriginalDst(cluster(POD, s, "outbound|8000||api.external.example"));
        assertEquals(List.of("0.0.0.0_27017", "0.0.0.0_8000", "virtualInbound", "virtualOutbound"), listenerNames(POD, s));
    }

    @Test
    void theFirstServiceByHostnameTakesAWholePortAndAnHttpPortStaysHttp() {
        MeshSnapshot s = snapshot(none("b", "b.external.example", "[{number: 9000, name: tcp, protocol: TCP}]", "")
                + none("a", "a.external.example", "[{number: 9000, name: tcp, protocol: TCP}]", "")
                + none("c", "c.external.example", "[{number: 8000, name: tcp, protocol: TCP}]", "")
                + none("web", "web.external.example", "[{number: 8000, name: http, protocol: HTTP}]", ""));
        assertEquals(List.of("[] [] -> outbound|9000||a.external.example"), chains(listener(POD, s, "0.0.0.0_9000")));
        // One protocol per wildcard port (no protocol sniffing): 8000 stays the HTTP service's.
        assertTrue(listener(POD, s, "0.0.0.0_8000").getFilterChains(0).getFilters(0).getName().contains("http_connection_manager"));
    }

    @Test
    void withEndpointsButNoAddressEachEndpointIpGetsAListenerAsForAHeadlessService() {
        MeshSnapshot s = snapshot(none("db", "db.mesh.example", "[{number: 7000, name: tcp, protocol: TCP}]", """
                location: MESH_INTERNAL
                endpoints:
                - {address: 10.1.0.7, serviceAccount: db, labels: {security.istio.io/tlsMode: istio}}
                - {address: 10.1.0.8, serviceAccount: db, labels: {security.istio.io/tlsMode: istio}}
                - {address: 10.0.0.1, serviceAccount: db, labels: {security.istio.io/tlsMode: istio}}
                """));
        // Not the sidecar's own IP (10.0.0.1), as istiod.
        assertEquals(List.of("10.1.0.7_7000", "10.1.0.8_7000", "virtualInbound", "virtualOutbound"), listenerNames(POD, s));
        assertEquals(List.of("[] [] -> outbound|7000||db.mesh.example"), chains(listener(POD, s, "10.1.0.7_7000")));
        // MESH_INTERNAL with every endpoint in the mesh: auto mTLS, with the endpoints' identity.
        Cluster c = cluster(POD, s, "outbound|7000||db.mesh.example");
        assertOriginalDst(c);
        UpstreamTlsContext tls = unpack(c.getTransportSocket().getTypedConfig(), UpstreamTlsContext.class);
        assertEquals("spiffe://cluster.local/ns/demo/sa/db", tls.getCommonTlsContext().getCombinedValidationContext()
                .getDefaultValidationContext().getMatchSubjectAltNames(0).getExact());
        assertEquals("outbound_.7000_._.db.mesh.example", tls.getSni());
    }

    @Test
    void autoMtlsNeedsAMeshInternalServiceWhoseEndpointsAreAllInTheMesh() {
        String endpoints = """
                endpoints:
                - {address: 10.1.0.7, labels: {security.istio.io/tlsMode: istio}}
                %s""";
        // MESH_EXTERNAL (the default): istiod never infers mTLS, whatever the endpoints' labels.
        assertFalse(cluster(POD, snapshot(none("db", "db.mesh.example", "[{number: 7000, name: tcp, protocol: TCP}]",
                endpoints.formatted(""))), "outbound|7000||db.mesh.example").hasTransportSocket());
        // MESH_INTERNAL with one endpoint without a sidecar: plaintext for all (istiod's Passthrough rule).
        assertFalse(cluster(POD, snapshot(none("db", "db.mesh.example", "[{number: 7000, name: tcp, protocol: TCP}]",
                endpoints.formatted("- {address: 10.1.0.8}\nlocation: MESH_INTERNAL\n"))), "outbound|7000||db.mesh.example")
                .hasTransportSocket());
        // MESH_INTERNAL without endpoints: nothing known to be in the mesh, plaintext.
        assertFalse(cluster(POD, snapshot(none("db", "db.mesh.example", "[{number: 7000, name: tcp, protocol: TCP}]",
                "location: MESH_INTERNAL")), "outbound|7000||db.mesh.example").hasTransportSocket());
    }

    @Test
    void routersAndProxylessClientsKeepEdsAndOtherServicesAreUnchanged() {
        MeshSnapshot s = snapshot(PG_ENTRY + SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]",
                "[{number: 9000, name: tcp, protocol: TCP}]", "{address: 10.1.0.9}"));
        assertEquals(Cluster.DiscoveryType.EDS, cluster(SidecarFixtures.router(), s, "outbound|5432||" + PG).getType());
        assertEquals(Cluster.DiscoveryType.EDS, cluster(SidecarFixtures.grpc(), s, "outbound|8080||" + PG).getType());
        // A STATIC service: EDS, and its port without an address is wholly its own (SidecarOutboundTcpTest).
        assertEquals(Cluster.DiscoveryType.EDS, cluster(POD, s, "outbound|9000||web.demo.svc.cluster.local").getType());
        assertEquals(List.of("[] [] -> outbound|9000||web.demo.svc.cluster.local"), chains(listener(POD, s, "0.0.0.0_9000")));
    }

    /** The port an ORIGINAL_DST cluster dials instead of the one the app used, or null when it has none. */
    static Integer portOverride(Cluster c) {
        assertOriginalDst(c);
        return c.hasOriginalDstLbConfig() && c.getOriginalDstLbConfig().hasUpstreamPortOverride()
                ? c.getOriginalDstLbConfig().getUpstreamPortOverride().getValue() : null;
    }

    @Test
    void aPortsTargetPortIsWhereTheOriginalDestinationIsDialledOnTcpAndHttpPortsAndTheirSubsets() {
        MeshSnapshot s = snapshot(none("pg", PG, """
                [{number: 5432, name: tcp, protocol: TCP, targetPort: 6432},
                 {number: 8080, name: http, protocol: HTTP, targetPort: 9080},
                 {number: 3306, name: mysql, protocol: TCP, targetPort: 3306},
                 {number: 27017, name: mongo, protocol: TCP}]""", "addresses: [198.51.100.50]") + """
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: pg, namespace: demo}
                spec:
                  host: %s
                  subsets: [{name: v1, labels: {version: v1}}]
                """.formatted(PG));
        // istiod's PassthroughTargetPorts: the cluster's original_dst_lb_config.upstream_port_override, the same on the
        // subsets' clusters (the HTTP port's route goes to that cluster, so it holds for HTTP too).
        assertEquals(6432, portOverride(cluster(POD, s, "outbound|5432||" + PG)));
        assertEquals(6432, portOverride(cluster(POD, s, "outbound|5432|v1|" + PG)));
        assertEquals(9080, portOverride(cluster(POD, s, "outbound|8080||" + PG)));
        assertEquals("outbound|8080||" + PG,
                routes(POD, s, "8080").getVirtualHosts(0).getRoutes(0).getRoute().getCluster());
        // Set to the port itself: sent all the same, as istiod does (it changes nothing).
        assertEquals(3306, portOverride(cluster(POD, s, "outbound|3306||" + PG)));
        // Without a targetPort: the port the app used.
        assertEquals(null, portOverride(cluster(POD, s, "outbound|27017||" + PG)));
        // The listener stays on the port the app dials.
        assertEquals(List.of("[] [] -> outbound|5432||" + PG), chains(listener(POD, s, "198.51.100.50_5432")));
    }

    @Test
    void aTargetPortOutsideResolutionNoneOrOnARouterOnlyNamesTheEndpointsPort() {
        MeshSnapshot s = snapshot(none("pg", PG, "[{number: 5432, name: tcp, protocol: TCP, targetPort: 6432}]",
                "addresses: [198.51.100.50]") + SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]",
                "[{number: 9000, name: tcp, protocol: TCP, targetPort: 9001}]", "{address: 10.1.0.9}"));
        // Routers keep EDS for a NONE entry, and a STATIC entry is EDS everywhere: the endpoints carry the target port.
        assertFalse(cluster(SidecarFixtures.router(), s, "outbound|5432||" + PG).hasOriginalDstLbConfig());
        Cluster web = cluster(POD, s, "outbound|9000||web.demo.svc.cluster.local");
        assertEquals(Cluster.DiscoveryType.EDS, web.getType());
        assertFalse(web.hasOriginalDstLbConfig());
        assertEquals(List.of(9001),
                s.endpointsOf("web.demo.svc.cluster.local").stream().map(e -> e.ports().get(9000)).toList());
    }

    /** A NONE entry for {@code db.mesh.example}'s TCP port 7000 that selects workloads labelled {@code selector}. */
    static String selecting(String selector) {
        return none("db", "db.mesh.example", "[{number: 7000, name: tcp, protocol: TCP}]",
                "workloadSelector: " + selector);
    }

    static final String VM = """
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: vm-1, namespace: demo}
            spec:
              address: 10.1.0.7
              labels: {app: db}
            """;

    @Test
    void anEntryWhoseWorkloadSelectorSelectsNothingTakesNoPortAndOneThatSelectsGetsAListenerPerWorkload() {
        // istiod: an entry with label selectors and no instances gets no listener (its workloads may come later), so
        // the port's connections are unknown destinations: refused under REGISTRY_ONLY, not taken by the entry.
        MeshSnapshot none = snapshot(selecting("{labels: {app: db}}"), OutboundTrafficPolicyTest.REGISTRY_ONLY);
        assertEquals(List.of("virtualInbound", "virtualOutbound"), listenerNames(POD, none));
        assertOriginalDst(cluster(POD, none, "outbound|7000||db.mesh.example"));
        // A workload it selects: a listener for its IP, as for inline endpoints.
        MeshSnapshot one = snapshot(selecting("{labels: {app: db}}") + VM, OutboundTrafficPolicyTest.REGISTRY_ONLY);
        assertEquals(List.of("10.1.0.7_7000", "virtualInbound", "virtualOutbound"), listenerNames(POD, one));
        assertEquals(List.of("[] [] -> outbound|7000||db.mesh.example"), chains(listener(POD, one, "10.1.0.7_7000")));
        // A selector without labels selects nothing and is no selector to istiod either (nil labels): the whole port.
        assertEquals(List.of("[] [] -> outbound|7000||db.mesh.example"),
                chains(listener(POD, snapshot(selecting("{}") + VM), "0.0.0.0_7000")));
    }
}
