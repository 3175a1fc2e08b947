package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * VirtualServices for the mesh whose host is a wildcard ({@code *.example.com}; Istio rejects {@code *} there) route every service they
 * take, as istiod binds them (its most-specific-wildcard index): a service's own host first, else the longest wildcard
 * exported to the proxy's namespace. The service keeps its own virtual host and domains; only its routes change.
 */
class WildcardVirtualServiceTest {
    static final ProxyInfo CLIENT = sidecar("10.0.0.9", "demo");

    static final String SERVICES = SidecarFixtures.services("apis", "demo",
            "[api.example.com, www.example.com, pay.api.example.com, shop.test]", SidecarFixtures.HTTP_80,
            "{address: 10.0.0.2}")
            + SidecarFixtures.services("egress", "demo", "[egress.demo.svc.cluster.local]", SidecarFixtures.HTTP_80,
                    "{address: 10.0.0.3}");

    /**
     * A VirtualService for {@code hosts} (a YAML flow list) whose one route sends everything to the egress service with
     * {@code timeout} and the request header x-policy: its name. {@code more} is extra spec lines (exportTo, gateways).
     */
    static String vs(String name, String namespace, String hosts, String timeout, String more) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: %s, namespace: %s}
                spec:
                  hosts: %s
                  %s
                  http:
                  - timeout: %s
                    headers: {request: {set: {x-policy: %s}}}
                    route: [{destination: {host: egress.demo.svc.cluster.local}}]
                """.formatted(name, namespace, hosts, more, timeout, name);
    }

    static VirtualHost virtualHost(ProxyInfo proxy, MeshSnapshot s, String name) {
        return routes(proxy, s, "80").getVirtualHostsList().stream().filter(vh -> vh.getName().equals(name))
                .findFirst().orElseThrow(() -> new AssertionError("no virtual host " + name));
    }

    /** The names of a service's routes on port 80: "namespace/name" of the VirtualService that made them, or "default". */
    static List<String> routedBy(ProxyInfo proxy, MeshSnapshot s, String host) {
        return virtualHost(proxy, s, host + ":80").getRoutesList().stream().map(Route::getName).toList();
    }

    @Test
    void aWildcardVirtualServiceRoutesEveryServiceItTakesAndNoOther() {
        MeshSnapshot s = snapshot(SERVICES + vs("external-apis", "demo", "[\"*.example.com\"]", "3s", ""));
        for (String host : List.of("api.example.com", "www.example.com", "pay.api.example.com")) {
            VirtualHost vh = virtualHost(CLIENT, s, host + ":80");
            assertEquals(List.of(host, host + ":80"), vh.getDomainsList(), "the service's own domains, not the wildcard");
            assertEquals(1, vh.getRoutesCount(), host);
            Route r = vh.getRoutes(0);
            assertEquals("demo/external-apis", r.getName(), host);
            assertEquals(3, r.getRoute().getTimeout().getSeconds(), host);
            assertEquals("external-apis", r.getRequestHeadersToAdd(0).getHeader().getValue(), host);
            assertEquals("outbound|80||egress.demo.svc.cluster.local", r.getRoute().getCluster(), host);
        }
        assertEquals(List.of("default"), routedBy(CLIENT, s, "shop.test"));
        assertEquals(List.of("default"), routedBy(CLIENT, s, "egress.demo.svc.cluster.local"));
        RouteConfiguration rc = routes(CLIENT, s, "80");
        assertTrue(rc.getVirtualHostsList().stream().noneMatch(vh -> vh.getDomainsList().contains("*.example.com")),
                "no virtual host for the wildcard itself: it takes services");
        assertEquals(rc.getVirtualHostsCount(), rc.getVirtualHostsList().stream().map(VirtualHost::getName).distinct()
                .count(), "each service once");
    }

    @Test
    void anExactHostVirtualServiceWinsOverAWildcardForItsHost() {
        // As istiod's MostSpecificHostMatch: the service's own name first, though the wildcard one is older and
        // private to the proxy's namespace while the exact one is public.
        MeshSnapshot s = snapshot(SERVICES
                + vs("external-apis", "demo", "[\"*.example.com\"]", "3s", "exportTo: [\".\"]")
                        .replace("namespace: demo}", "namespace: demo, creationTimestamp: \"2024-01-01T00:00:00Z\"}")
                + vs("api", "team-a", "[api.example.com]", "9s", "")
                        .replace("namespace: team-a}", "namespace: team-a, creationTimestamp: \"2025-01-01T00:00:00Z\"}"));
        assertEquals(List.of("team-a/api"), routedBy(CLIENT, s, "api.example.com"));
        assertEquals(List.of("demo/external-apis"), routedBy(CLIENT, s, "www.example.com"));
    }

    @Test
    void theNarrowerWildcardWinsOverAWiderOne() {
        MeshSnapshot s = snapshot(SERVICES
                + vs("tests", "demo", "[\"*.test\"]", "1s", "")
                + vs("external-apis", "demo", "[\"*.example.com\"]", "3s", "")
                + vs("payments", "demo", "[\"*.api.example.com\"]", "5s", ""));
        assertEquals(List.of("demo/payments"), routedBy(CLIENT, s, "pay.api.example.com"));
        assertEquals(List.of("demo/external-apis"), routedBy(CLIENT, s, "api.example.com"),
                "*.api.example.com does not take api.example.com itself");
        assertEquals(List.of("demo/external-apis"), routedBy(CLIENT, s, "www.example.com"));
        assertEquals(List.of("demo/tests"), routedBy(CLIENT, s, "shop.test"));
    }

    @Test
    void aWildcardVirtualServiceExportedToItsOwnNamespaceRoutesOnlyThere() {
        MeshSnapshot s = snapshot(SERVICES
                + vs("team-a-apis", "team-a", "[\"*.example.com\"]", "3s", "exportTo: [\".\"]")
                + vs("team-a-payments", "team-a", "[\"*.api.example.com\"]", "5s", "exportTo: [\".\"]")
                + vs("payments", "demo", "[\"*.api.example.com\"]", "7s", "exportTo: [\".\"]"));
        assertEquals(List.of("default"), routedBy(CLIENT, s, "api.example.com"));
        assertEquals(List.of("demo/payments"), routedBy(CLIENT, s, "pay.api.example.com"));
        ProxyInfo teamA = sidecar("10.1.0.1", "team-a");
        assertEquals(List.of("team-a/team-a-apis"), routedBy(teamA, s, "api.example.com"));
        assertEquals(List.of("team-a/team-a-payments"), routedBy(teamA, s, "pay.api.example.com"));
        // Where the narrower wildcard is not exported, the wider one that is takes the service.
        MeshSnapshot wider = snapshot(SERVICES
                + vs("payments", "team-a", "[\"*.api.example.com\"]", "5s", "exportTo: [\".\"]")
                + vs("external-apis", "demo", "[\"*.example.com\"]", "3s", ""));
        assertEquals(List.of("demo/external-apis"), routedBy(CLIENT, wider, "pay.api.example.com"));
        assertEquals(List.of("team-a/payments"), routedBy(teamA, wider, "pay.api.example.com"));
    }

    @Test
    void aGatewayOnlyWildcardVirtualServiceLeavesSidecarsAlone() {
        MeshSnapshot s = snapshot(SERVICES + SidecarFixtures.PUBLIC_GATEWAY
                + vs("edge", "demo", "[\"*.example.com\"]", "3s", "gateways: [istio-system/public]"));
        assertEquals(List.of("default"), routedBy(CLIENT, s, "api.example.com"));
        assertEquals(List.of("default"), routedBy(CLIENT, s, "www.example.com"));
        assertEquals("demo/edge", routes(GeneratorGoldenTest.router(), s, "http.8080").getVirtualHosts(0).getRoutes(0)
                .getName(), "the gateway still has it");
    }

    @Test
    void aProxylessClientOfATakenServiceGetsTheWildcardsRoutes() {
        MeshSnapshot s = snapshot(SERVICES + vs("external-apis", "demo", "[\"*.example.com\"]", "3s", ""));
        VirtualHost vh = routes(SidecarFixtures.grpc(), s, "api.example.com:80").getVirtualHosts(0);
        assertEquals("demo/external-apis", vh.getRoutes(0).getName());
        assertEquals(3, vh.getRoutes(0).getRoute().getTimeout().getSeconds());
    }

    @Test
    void aWildcardVirtualServicesTcpRouteTakesATcpServiceToo() {
        // istiod picks a sidecar's TCP routes by VirtualService hosts that match the service, wildcards included.
        MeshSnapshot s = snapshot(SidecarFixtures.services("db", "demo", "[db.example.com]",
                "[{number: 9000, name: tcp, protocol: TCP}]", "{address: 10.0.0.4}").replace("hosts: [db.example.com]",
                        "hosts: [db.example.com]\n  addresses: [198.51.100.100]")
                + SidecarFixtures.services("legacy", "demo", "[legacy.example.com]",
                        "[{number: 9000, name: tcp, protocol: TCP}]", "{address: 10.0.0.5}")
                + "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: external-tcp, namespace: demo}
                spec:
                  hosts: ["*.example.com"]
                  tcp:
                  - route: [{destination: {host: legacy.example.com, port: {number: 9000}}}]
                """);
        assertEquals("outbound|9000||legacy.example.com",
                SidecarOutboundTcpTest.target(SidecarFixtures.listener(CLIENT, s, "198.51.100.100_9000")));
    }

    @Test
    void editingAWildcardVirtualServiceIsAConfigChangeNotAnEndpointOne() {
        MeshSnapshot before = snapshot(SERVICES + vs("external-apis", "demo", "[\"*.example.com\"]", "3s", ""));
        MeshSnapshot after = snapshot(SERVICES + vs("external-apis", "demo", "[\"*.example.com\"]", "4s", ""));
        assertNull(before.endpointOnlyChanges(after));
        assertEquals(java.util.Set.of(), before.endpointOnlyChanges(
                snapshot(SERVICES + vs("external-apis", "demo", "[\"*.example.com\"]", "3s", ""))));
    }
}
