package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * VirtualServices bound to an ingress gateway for the same host are merged, as Istio merges them: teams can each own
 * the paths of a shared host in their own resource, and no route of theirs is dropped. The oldest one's routes come
 * first (Istio's order: creation time, then name, then namespace). For sidecars Istio does not merge: the oldest
 * VirtualService routes the host, and the others are left out with a warning.
 */
class GatewayVirtualServiceMergeTest {

    static final String BASE = SidecarFixtures.services("svc", "demo",
            "[orders.demo.svc.cluster.local, users.demo.svc.cluster.local, web.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.1, ports: {http: 8081}}") + SidecarFixtures.PUBLIC_GATEWAY;

    static String vs(String name, String hosts, String prefix, String destination) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: %s, namespace: demo}
                spec:
                  hosts: %s
                  gateways: [istio-system/public]
                  http:
                  - match: [{uri: {prefix: %s}}]
                    route: [{destination: {host: %s}}]
                """.formatted(name, hosts, prefix, destination);
    }

    static List<String> prefixes(VirtualHost vh) {
        return vh.getRoutesList().stream().map(r -> r.getMatch().getPrefix() + " -> " + r.getRoute().getCluster()).toList();
    }

    @Test
    void twoVirtualServicesForOneHostShareItsRoutesInOrder() {
        RouteConfiguration rc = routes(router(), snapshot(BASE + vs("a-orders", "[shop.example.com]", "/orders", "orders")
                + vs("b-users", "[shop.example.com]", "/users", "users")), "http.8080");
        assertEquals(1, rc.getVirtualHostsCount(), rc.toString());
        VirtualHost vh = rc.getVirtualHosts(0);
        assertEquals("shop.example.com:8080", vh.getName());
        assertEquals(List.of("shop.example.com", "shop.example.com:8080"), vh.getDomainsList());
        assertEquals(List.of("/orders -> outbound|80||orders.demo.svc.cluster.local",
                "/users -> outbound|80||users.demo.svc.cluster.local"), prefixes(vh));
    }

    @Test
    void onlyTheSharedHostIsMergedAndAVirtualServiceAloneKeepsItsVirtualHost() {
        RouteConfiguration rc = routes(router(), snapshot(BASE
                + vs("a-shop", "[shop.example.com, admin.example.com]", "/", "web")
                + vs("b-orders", "[shop.example.com]", "/orders", "orders")), "http.8080");
        assertEquals(2, rc.getVirtualHostsCount(), rc.toString());
        VirtualHost admin = rc.getVirtualHosts(1);
        assertEquals("demo/a-shop:8080", admin.getName());
        assertEquals(List.of("admin.example.com", "admin.example.com:8080"), admin.getDomainsList());
        assertEquals(List.of("/ -> outbound|80||web.demo.svc.cluster.local"), prefixes(admin));
        // The shared host: a-shop's catch-all comes first, so it answers /orders too (Istio's caveat for merging).
        VirtualHost shop = rc.getVirtualHosts(0);
        assertEquals("shop.example.com:8080", shop.getName());
        assertEquals(List.of("/ -> outbound|80||web.demo.svc.cluster.local",
                "/orders -> outbound|80||orders.demo.svc.cluster.local"), prefixes(shop));
    }

    @Test
    void theOldestVirtualServicesRoutesComeFirstWhateverTheNames() {
        // z-shop's catch-all was created first: it comes first and answers /orders too, as in Istio. Without creation
        // times (YAML that leaves them out) the names decide: a-orders first.
        String aOrders = vs("a-orders", "[shop.example.com]", "/orders", "orders")
                .replace("namespace: demo}", "namespace: demo, creationTimestamp: \"2025-03-01T10:00:00Z\"}");
        String zShop = vs("z-shop", "[shop.example.com]", "/", "web")
                .replace("namespace: demo}", "namespace: demo, creationTimestamp: \"2024-06-01T10:00:00Z\"}");
        VirtualHost shop = routes(router(), snapshot(BASE + aOrders + zShop), "http.8080").getVirtualHosts(0);
        assertEquals(List.of("/ -> outbound|80||web.demo.svc.cluster.local",
                "/orders -> outbound|80||orders.demo.svc.cluster.local"), prefixes(shop));

        VirtualHost byName = routes(router(), snapshot(BASE + vs("a-orders", "[shop.example.com]", "/orders", "orders")
                + vs("z-shop", "[shop.example.com]", "/", "web")), "http.8080").getVirtualHosts(0);
        assertEquals(List.of("/orders -> outbound|80||orders.demo.svc.cluster.local",
                "/ -> outbound|80||web.demo.svc.cluster.local"), prefixes(byName));
    }

    @Test
    void forSidecarsTheOldestVirtualServiceRoutesAHostAndTheOtherIsLeftOutWithAWarning() {
        String mesh = """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: %s, namespace: demo, creationTimestamp: "%s"}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  http:
                  - match: [{uri: {prefix: %s}}]
                    route: [{destination: {host: %s}}]
                """;
        MeshSnapshot s = snapshot(BASE + mesh.formatted("a-new", "2025-03-01T10:00:00Z", "/orders", "orders")
                + mesh.formatted("z-old", "2024-06-01T10:00:00Z", "/users", "users"));
        VirtualHost web = routes(sidecar("10.1.0.9", "demo"), s, "80").getVirtualHostsList().stream()
                .filter(vh -> vh.getName().equals("web.demo.svc.cluster.local:80")).findFirst().orElseThrow();
        assertEquals(List.of("/users -> outbound|80||users.demo.svc.cluster.local"), prefixes(web), "only z-old's routes");
        assertEquals(1, s.warnings().stream().filter(w -> w.startsWith("VirtualService demo/a-new: host \"web.demo.svc.cluster.local\""
                + " is already routed by VirtualService demo/z-old")).count(), s.warnings().toString());
    }
}
