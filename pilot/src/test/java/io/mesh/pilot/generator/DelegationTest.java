package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Istio's VirtualService delegation: the edge team's root VirtualService hands /orders to a delegate VirtualService
 * (no hosts) that the orders team owns in its namespace. The delegate's routes take the root route's place, each
 * within the root's match, resolved in the delegate's namespace, inheriting what it does not set.
 */
class DelegationTest {

    static final String CONFIG = SidecarFixtures.services("svc", "team-orders",
            "[orders.team-orders.svc.cluster.local, orders-v2.team-orders.svc.cluster.local]", SidecarFixtures.HTTP_80,
            "{address: 10.0.0.1}")
            + SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]", SidecarFixtures.HTTP_80,
                    "{address: 10.0.0.2}")
            + SidecarFixtures.PUBLIC_GATEWAY + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: shop, namespace: demo}
            spec:
              hosts: [shop.example.com]
              gateways: [istio-system/public]
              http:
              - name: orders
                match: [{uri: {prefix: /orders}}]
                delegate: {name: orders, namespace: team-orders}
                timeout: 5s
              - name: users
                match: [{uri: {prefix: /users}}]
                delegate: {name: users}
              - name: private
                match: [{uri: {prefix: /private}}]
                delegate: {name: hidden, namespace: team-x}
              - name: rest
                route: [{destination: {host: web}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: orders, namespace: team-orders}
            spec:
              http:
              - name: v2
                match: [{uri: {prefix: /orders/v2}, headers: {x-user: {}}}]
                route: [{destination: {host: orders-v2}}]
                timeout: 1s
              - name: elsewhere
                match: [{uri: {prefix: /admin}}]
                route: [{destination: {host: orders}}]
              - route: [{destination: {host: orders}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: hidden, namespace: team-x}
            spec:
              exportTo: ["."]
              http:
              - route: [{destination: {host: web.demo.svc.cluster.local}}]
            """;

    static String describe(Route r) {
        String prefix = r.getMatch().getPrefix();
        String headers = r.getMatch().getHeadersList().stream().map(h -> " +" + h.getName()).reduce("", String::concat);
        String timeout = r.getRoute().hasTimeout() ? " " + r.getRoute().getTimeout().getSeconds() + "s" : "";
        return r.getName() + " " + prefix + headers + " -> " + r.getRoute().getCluster() + timeout;
    }

    @Test
    void aDelegatesRoutesTakeTheRootRoutesPlaceWithinItsMatch() {
        MeshSnapshot s = snapshot(CONFIG);
        VirtualHost shop = routes(GeneratorGoldenTest.router(), s, "http.8080").getVirtualHosts(0);
        assertEquals(List.of(
                "orders-v2 /orders/v2 +x-user -> outbound|80||orders-v2.team-orders.svc.cluster.local 1s",
                "orders /orders -> outbound|80||orders.team-orders.svc.cluster.local 5s",
                "rest / -> outbound|80||web.demo.svc.cluster.local"),
                shop.getRoutesList().stream().map(DelegationTest::describe).toList());
    }

    @Test
    void whatCannotBeDelegatedIsLeftOutWithTheReason() {
        List<String> warnings = snapshot(CONFIG).warnings();
        assertEquals(List.of(
                "VirtualService demo/shop: http[0]: route http[1] of delegate team-orders/orders matches nothing within the"
                        + " root route's match; it is left out",
                "VirtualService demo/shop: http[1] delegates to demo/users, which is not a delegate VirtualService (none"
                        + " without hosts by that name); the route is left out",
                "VirtualService demo/shop: http[2] delegates to team-x/hidden, which is not exported to namespace demo;"
                        + " the route is left out"),
                warnings.stream().filter(w -> w.startsWith("VirtualService demo/shop: http[")).toList());
    }

    @Test
    void sidecarsFollowDelegationToo() {
        MeshSnapshot s = snapshot(CONFIG + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web-mesh, namespace: demo}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  http:
                  - delegate: {name: orders, namespace: team-orders}
                """);
        VirtualHost web = routes(sidecar("10.1.0.9", "demo"), s, "80").getVirtualHostsList().stream()
                .filter(vh -> vh.getName().equals("web.demo.svc.cluster.local:80")).findFirst().orElseThrow();
        // No root match: each delegate route as it is (the root sets no timeout: none but v2's own).
        assertEquals(List.of(
                "v2 /orders/v2 +x-user -> outbound|80||orders-v2.team-orders.svc.cluster.local 1s",
                "elsewhere /admin -> outbound|80||orders.team-orders.svc.cluster.local",
                "demo/web-mesh / -> outbound|80||orders.team-orders.svc.cluster.local"),
                web.getRoutesList().stream().map(DelegationTest::describe).toList());
    }
}
