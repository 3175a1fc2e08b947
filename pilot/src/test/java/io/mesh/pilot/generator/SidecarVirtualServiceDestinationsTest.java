package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A Sidecar resource whose egress hosts take a VirtualService also gets clusters (and endpoints) for where that
 * VirtualService routes, as istiod's SidecarScope infers them (sidecar.go collectImportedServices): the service of the
 * destination's host in the proxy's namespace, else one exported to it, with only the ports the destinations name
 * (all of them for a destination without a port). They get no listener and no virtual host: istiod adds them to the
 * scope's services, not to its egress listener's.
 */
class SidecarVirtualServiceDestinationsTest {
    static final ProxyInfo A = sidecar("10.0.0.9", "a");

    /** a-svc in a (HTTP 80); b-svc (HTTP 80) and other-svc (HTTP 80) in b; each with one endpoint. */
    static final String SERVICES = SidecarFixtures.services("a-svc", "a", "[a-svc.a.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.1.1}")
            + SidecarFixtures.services("b-svc", "b", "[b-svc.b.svc.cluster.local]", SidecarFixtures.HTTP_80,
                    "{address: 10.0.2.1}")
            + SidecarFixtures.services("other-svc", "b", "[other-svc.b.svc.cluster.local]", SidecarFixtures.HTTP_80,
                    "{address: 10.0.2.2}");

    /** The Sidecar resource of namespace a: egress its own namespace only. */
    static final String OWN_NAMESPACE_ONLY = """
            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: default, namespace: a}
            spec:
              egress:
              - hosts: ["./*"]
            """;

    /** A VirtualService in a for a-svc whose one route goes to {@code destination} (a flow map). */
    static String vsTo(String destination) {
        return """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: a-route, namespace: a}
                spec:
                  hosts: [a-svc]
                  http:
                  - route: [{destination: %s}]
                """.formatted(destination);
    }

    static Set<String> clusters(ProxyInfo proxy, MeshSnapshot s) {
        return XdsGenerators.generate(Resources.V3.CLUSTER_TYPE_URL, proxy, s, Set.of()).stream()
                .map(m -> ((Cluster) m).getName()).filter(n -> n.startsWith("outbound|"))
                .collect(java.util.stream.Collectors.toSet());
    }

    /** The endpoint addresses EDS sends for a cluster; null when it sends no assignment at all. */
    static List<String> endpoints(ProxyInfo proxy, MeshSnapshot s, String cluster) {
        List<?> out = XdsGenerators.generate(Resources.V3.ENDPOINT_TYPE_URL, proxy, s, Set.of(cluster));
        if (out.isEmpty()) {
            return null;
        }
        return ((ClusterLoadAssignment) out.get(0)).getEndpointsList().stream()
                .flatMap(l -> l.getLbEndpointsList().stream())
                .map(e -> e.getEndpoint().getAddress().getSocketAddress().getAddress()).toList();
    }

    static List<String> listeners(ProxyInfo proxy, MeshSnapshot s) {
        return XdsGenerators.generate(Resources.V3.LISTENER_TYPE_URL, proxy, s, Set.of()).stream()
                .map(m -> ((Listener) m).getName()).sorted().toList();
    }

    @Test
    void anEgressOfItsOwnNamespaceGetsTheClusterAndEndpointsOfWhereItsVirtualServiceRoutesAndNoOtherServiceOfThere() {
        MeshSnapshot s = snapshot(SERVICES + OWN_NAMESPACE_ONLY + vsTo("{host: b-svc.b.svc.cluster.local}"));
        assertEquals(Set.of("outbound|80||a-svc.a.svc.cluster.local", "outbound|80||b-svc.b.svc.cluster.local"),
                clusters(A, s));
        assertEquals(List.of("10.0.2.1"), endpoints(A, s, "outbound|80||b-svc.b.svc.cluster.local"));
        // The route a-svc's virtual host takes goes to that cluster.
        VirtualHost a = routes(A, s, "80").getVirtualHostsList().stream()
                .filter(vh -> vh.getName().equals("a-svc.a.svc.cluster.local:80")).findFirst().orElseThrow();
        assertEquals("outbound|80||b-svc.b.svc.cluster.local", a.getRoutes(0).getRoute().getCluster());
        // No virtual host and no listener of its own, as in istiod: only the egress hosts' services get those.
        assertTrue(routes(A, s, "80").getVirtualHostsList().stream()
                .noneMatch(vh -> vh.getDomainsList().contains("b-svc.b.svc.cluster.local")));
        // Without the VirtualService, b is out of the sidecar's sight.
        assertEquals(Set.of("outbound|80||a-svc.a.svc.cluster.local"),
                clusters(A, snapshot(SERVICES + OWN_NAMESPACE_ONLY)));
    }

    @Test
    void onlyThePortsTheDestinationsNameAreImported() {
        String multiPort = SidecarFixtures.services("api", "b", "[api.b.svc.cluster.local]",
                "[{number: 8080, name: http, protocol: HTTP}, {number: 9090, name: http-admin, protocol: HTTP}]",
                "{address: 10.0.2.3}");
        MeshSnapshot one = snapshot(SERVICES + multiPort + OWN_NAMESPACE_ONLY
                + vsTo("{host: api.b.svc.cluster.local, port: {number: 9090}}"));
        assertEquals(Set.of("outbound|80||a-svc.a.svc.cluster.local", "outbound|9090||api.b.svc.cluster.local"),
                clusters(A, one));
        // A destination without a port: every port.
        MeshSnapshot all = snapshot(SERVICES + multiPort + OWN_NAMESPACE_ONLY + vsTo("{host: api.b.svc.cluster.local}"));
        assertEquals(Set.of("outbound|80||a-svc.a.svc.cluster.local", "outbound|8080||api.b.svc.cluster.local",
                "outbound|9090||api.b.svc.cluster.local"), clusters(A, all));
        // A port the service does not have: istiod leaves the service out.
        MeshSnapshot none = snapshot(SERVICES + multiPort + OWN_NAMESPACE_ONLY
                + vsTo("{host: api.b.svc.cluster.local, port: {number: 7000}}"));
        assertEquals(Set.of("outbound|80||a-svc.a.svc.cluster.local"), clusters(A, none));
        // A service the egress hosts take keeps all its ports, whatever the VirtualService names.
        MeshSnapshot explicit = snapshot(SERVICES + multiPort + OWN_NAMESPACE_ONLY.replace("\"./*\"", "\"./*\", \"b/api.b.svc.cluster.local\"")
                + vsTo("{host: api.b.svc.cluster.local, port: {number: 9090}}"));
        assertEquals(Set.of("outbound|80||a-svc.a.svc.cluster.local", "outbound|8080||api.b.svc.cluster.local",
                "outbound|9090||api.b.svc.cluster.local"), clusters(A, explicit));
    }

    @Test
    void aDestinationNotExportedToTheNamespaceIsNotImported() {
        // b-svc exported to b only: istiod picks a destination's service among those visible to the proxy's namespace.
        String hidden = SERVICES.replace("""
                metadata: {name: b-svc, namespace: b}
                spec:
                """, """
                metadata: {name: b-svc, namespace: b}
                spec:
                  exportTo: ["."]
                """);
        MeshSnapshot s = snapshot(hidden + OWN_NAMESPACE_ONLY + vsTo("{host: b-svc.b.svc.cluster.local}"));
        assertEquals(Set.of("outbound|80||a-svc.a.svc.cluster.local"), clusters(A, s));
        assertEquals(null, endpoints(A, s, "outbound|80||b-svc.b.svc.cluster.local"));
    }

    @Test
    void aDestinationOfTheProxysOwnNamespaceIsImportedEvenWhenNotExportedThere() {
        // istiod takes the service of the proxy's namespace by that name without asking whether it is exported there
        // (sidecar.go: byNamespace[configNamespace]); only services of other namespaces must be visible.
        String ownHidden = SidecarFixtures.services("internal", "a", "[internal.a.svc.cluster.local]",
                SidecarFixtures.HTTP_80, "{address: 10.0.1.5}").replace("""
                metadata: {name: internal, namespace: a}
                spec:
                """, """
                metadata: {name: internal, namespace: a}
                spec:
                  exportTo: [b]
                """);
        MeshSnapshot s = snapshot(SERVICES + ownHidden + OWN_NAMESPACE_ONLY + vsTo("{host: internal}"));
        assertEquals(Set.of("outbound|80||a-svc.a.svc.cluster.local", "outbound|80||internal.a.svc.cluster.local"),
                clusters(A, s));
        assertEquals(List.of("10.0.1.5"), endpoints(A, s, "outbound|80||internal.a.svc.cluster.local"));
        // Another namespace's sidecar gets no such cluster from a VirtualService it does not import.
        assertTrue(clusters(sidecar("10.0.3.1", "c"), s).stream().noneMatch(c -> c.contains("internal")));
    }

    @Test
    void mirrorsAndTcpRoutesDestinationsCountAndAnotherNamespacesRoutesDoNot() {
        String vs = """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: a-route, namespace: a}
                spec:
                  hosts: [a-svc]
                  http:
                  - match: [{sourceNamespace: c}]
                    route: [{destination: {host: a-svc}}]
                    mirror: {host: other-svc.b.svc.cluster.local}
                  - route: [{destination: {host: a-svc}}]
                    mirror: {host: b-svc.b.svc.cluster.local}
                  tcp:
                  - route: [{destination: {host: api.b.svc.cluster.local, port: {number: 5432}}}]
                """;
        String db = SidecarFixtures.services("api", "b", "[api.b.svc.cluster.local]",
                "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.2.3}");
        MeshSnapshot s = snapshot(SERVICES + db + OWN_NAMESPACE_ONLY + vs);
        // other-svc is the mirror of a route whose only match is for namespace c: istiod skips that route for a.
        assertEquals(Set.of("outbound|5432||api.b.svc.cluster.local", "outbound|80||a-svc.a.svc.cluster.local",
                "outbound|80||b-svc.b.svc.cluster.local"), clusters(A, s));
        // The TCP destination gets no listener of its own either.
        assertTrue(listeners(A, s).stream().noneMatch(l -> l.endsWith("_5432")), listeners(A, s).toString());
    }
}
