package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GatewayVirtualServiceMergeTest.prefixes;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Istio's exportTo on VirtualServices, DestinationRules and ServiceEntries: which namespaces' proxies see each, and
 * which one a proxy uses when several claim a host (private to its namespace, then exported to it by name, then
 * public). Two teams may each route one host for their own namespace without a conflict.
 */
class ExportToTest {

    static final String SERVICES = SidecarFixtures.services("svc", "demo",
            "[web.demo.svc.cluster.local, orders.demo.svc.cluster.local, users.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.1, ports: {http: 8081}}");

    /** A VirtualService for web in {@code namespace} that sends {@code prefix} to {@code destination}. */
    static String vs(String name, String namespace, String exportTo, String prefix, String destination) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: %s, namespace: %s}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  exportTo: %s
                  http:
                  - match: [{uri: {prefix: %s}}]
                    route: [{destination: {host: %s.demo.svc.cluster.local}}]
                """.formatted(name, namespace, exportTo, prefix, destination);
    }

    static List<String> webRoutes(ProxyInfo proxy, MeshSnapshot s) {
        RouteConfiguration rc = routes(proxy, s, "80");
        VirtualHost web = rc.getVirtualHostsList().stream()
                .filter(vh -> vh.getName().equals("web.demo.svc.cluster.local:80")).findFirst().orElseThrow();
        return prefixes(web);
    }

    static List<String> ist0109(MeshSnapshot s) {
        return s.warnings().stream().filter(w -> w.contains("IST0109")).toList();
    }

    @Test
    void twoTeamsRouteOneHostEachForTheirOwnNamespaceWithoutAConflict() {
        MeshSnapshot s = snapshot(SERVICES + vs("orders-team", "team-a", "[\".\"]", "/orders", "orders")
                + vs("users-team", "team-b", "[\".\"]", "/users", "users"));
        assertEquals(List.of("/orders -> outbound|80||orders.demo.svc.cluster.local"),
                webRoutes(sidecar("10.1.0.1", "team-a"), s));
        assertEquals(List.of("/users -> outbound|80||users.demo.svc.cluster.local"),
                webRoutes(sidecar("10.1.0.2", "team-b"), s));
        // A third namespace sees neither: the service's default route.
        assertEquals(List.of("/ -> outbound|80||web.demo.svc.cluster.local"), webRoutes(sidecar("10.1.0.3", "team-c"), s));
        assertEquals(List.of(), ist0109(s));
    }

    @Test
    void aNamespacesOwnVirtualServiceOverridesAPublicOneThereOnly() {
        // Istio's consumer override: the public one is older, yet team-a's private one wins in team-a.
        MeshSnapshot s = snapshot(SERVICES
                + vs("z-public", "demo", "[\"*\"]", "/users", "users")
                        .replace("namespace: demo}", "namespace: demo, creationTimestamp: \"2024-01-01T00:00:00Z\"}")
                + vs("a-private", "team-a", "[\".\"]", "/orders", "orders")
                        .replace("namespace: team-a}", "namespace: team-a, creationTimestamp: \"2025-01-01T00:00:00Z\"}"));
        assertEquals(List.of("/orders -> outbound|80||orders.demo.svc.cluster.local"),
                webRoutes(sidecar("10.1.0.1", "team-a"), s));
        assertEquals(List.of("/users -> outbound|80||users.demo.svc.cluster.local"), webRoutes(sidecar("10.1.0.2", "demo"), s));
        assertEquals(List.of(), ist0109(s));
    }

    @Test
    void exportedByNameComesBetweenPrivateAndPublicAndOverlappingListsConflict() {
        MeshSnapshot s = snapshot(SERVICES + vs("a-public", "demo", "[]", "/users", "users")
                + vs("b-listed", "demo", "[team-a, team-b]", "/orders", "orders")
                + vs("c-listed", "ops", "[team-b, team-c]", "/web", "web"));
        // team-a: the list that names it beats the public one.
        assertEquals(List.of("/orders -> outbound|80||orders.demo.svc.cluster.local"),
                webRoutes(sidecar("10.1.0.1", "team-a"), s));
        // team-b: named by both lists, so they conflict there; the first by name (no creation times) wins.
        assertEquals(List.of("/orders -> outbound|80||orders.demo.svc.cluster.local"),
                webRoutes(sidecar("10.1.0.2", "team-b"), s));
        assertEquals(List.of("/web -> outbound|80||web.demo.svc.cluster.local"), webRoutes(sidecar("10.1.0.3", "team-c"), s));
        assertEquals(List.of("/users -> outbound|80||users.demo.svc.cluster.local"), webRoutes(sidecar("10.1.0.4", "x"), s));
        List<String> conflicts = ist0109(s);
        assertEquals(1, conflicts.size(), conflicts.toString());
        assertTrue(conflicts.get(0).startsWith("VirtualService ops/c-listed: host \"web.demo.svc.cluster.local\" is already"
                + " routed by VirtualService demo/b-listed"), conflicts.get(0));
    }

    @Test
    void anIngressGatewaySeesOnlyVirtualServicesExportedToItsNamespace() {
        String bound = """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: %s, namespace: demo}
                spec:
                  hosts: [shop.example.com]
                  gateways: [istio-system/public]
                  exportTo: %s
                  http:
                  - match: [{uri: {prefix: %s}}]
                    route: [{destination: {host: %s}}]
                """;
        MeshSnapshot s = snapshot(SERVICES + SidecarFixtures.PUBLIC_GATEWAY + bound.formatted("a-hidden", "[\".\"]", "/hidden", "web")
                + bound.formatted("b-public", "[\"*\"]", "/users", "users")
                + bound.formatted("c-to-gateway", "[\".\", istio-system]", "/orders", "orders"));
        RouteConfiguration rc = routes(GeneratorGoldenTest.router(), s, "http.8080");
        assertEquals(1, rc.getVirtualHostsCount(), rc.toString());
        // a-hidden is left out; c-to-gateway, exported to istio-system by name, comes before the public b-public.
        assertEquals(List.of("/orders -> outbound|80||orders.demo.svc.cluster.local",
                "/users -> outbound|80||users.demo.svc.cluster.local"), prefixes(rc.getVirtualHosts(0)));
    }

    static String dr(String name, String namespace, String exportTo, String lb) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: %s, namespace: %s}
                spec:
                  host: web.demo.svc.cluster.local
                  exportTo: %s
                  trafficPolicy: {loadBalancer: %s}
                """.formatted(name, namespace, exportTo, lb);
    }

    static Cluster.LbPolicy webLb(ProxyInfo proxy, MeshSnapshot s) {
        List<?> out = XdsGenerators.generate(Resources.V3.CLUSTER_TYPE_URL, proxy, s,
                Set.of("outbound|80||web.demo.svc.cluster.local"));
        assertEquals(1, out.size(), out.toString());
        return ((Cluster) out.get(0)).getLbPolicy();
    }

    @Test
    void aDestinationRuleIsLookedUpInTheProxysNamespaceThenTheServicesThenTheRootNamespace() {
        String random = "{simple: RANDOM}";
        MeshSnapshot s = snapshot(SERVICES + dr("own", "team-a", "[\".\"]", random)
                + dr("service-private", "demo", "[\".\"]", "{simple: ROUND_ROBIN}")
                + dr("root", "istio-system", "[]", "{consistentHash: {httpHeaderName: x-user}}")
                + dr("elsewhere", "team-c", "[\"*\"]", random));
        assertEquals(Cluster.LbPolicy.RANDOM, webLb(sidecar("10.1.0.1", "team-a"), s), "its own namespace's rule");
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, webLb(sidecar("10.1.0.2", "demo"), s), "the service's namespace");
        // team-b: demo's rule is private to demo, and team-c's is in neither the proxy's nor the service's namespace.
        assertEquals(Cluster.LbPolicy.RING_HASH, webLb(sidecar("10.1.0.3", "team-b"), s), "the root namespace's rule");

        MeshSnapshot noRoot = snapshot(SERVICES + dr("elsewhere", "team-c", "[\"*\"]", random));
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, webLb(sidecar("10.1.0.3", "team-b"), noRoot),
                "no rule applies: istiod's default");
        assertEquals(Cluster.LbPolicy.RANDOM, webLb(sidecar("10.1.0.4", "team-c"), noRoot));
    }

    @Test
    void aServiceEntryExportedToItsNamespaceIsUnknownElsewhere() {
        String se = """
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: payments, namespace: billing}
                spec:
                  hosts: [payments.example.com]
                  exportTo: [%s]
                  location: MESH_EXTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: DNS
                """;
        MeshSnapshot s = snapshot(SERVICES + se.formatted("\".\""));
        Set<String> names = Set.of("outbound|80||payments.example.com");
        assertEquals(1, XdsGenerators.generate(Resources.V3.CLUSTER_TYPE_URL, sidecar("10.1.0.1", "billing"), s, names).size());
        assertEquals(0, XdsGenerators.generate(Resources.V3.CLUSTER_TYPE_URL, sidecar("10.1.0.2", "demo"), s, names).size());
        assertTrue(routes(sidecar("10.1.0.2", "demo"), s, "80").getVirtualHostsList().stream()
                .noneMatch(vh -> vh.getName().startsWith("payments.example.com")), "no route for it in demo");
        assertEquals(0, XdsGenerators.generate(Resources.V3.ENDPOINT_TYPE_URL, sidecar("10.1.0.2", "demo"), s, names).size());

        MeshSnapshot none = snapshot(SERVICES + se.formatted("\"~\""));
        assertEquals(0, XdsGenerators.generate(Resources.V3.CLUSTER_TYPE_URL, sidecar("10.1.0.1", "billing"), none,
                names).size(), "exported to no namespace");
    }
}
