package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.HTTP_80;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * GAMMA: an HTTPRoute whose parent is a Service routes that Service's traffic from sidecars, as istiod's mesh
 * VirtualService (host the Service's FQDN, gateways [mesh]); a route in another namespace (a consumer route) routes only
 * its own namespace's sidecars; a parentRef's port narrows the route to that port; no Gateway is needed.
 */
class GatewayApiMeshRouteTest {

    static final String SERVICES = SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]", HTTP_80,
            "{address: 10.0.0.1, ports: {http: 8081}}")
            + SidecarFixtures.services("web-v2", "demo", "[web-v2.demo.svc.cluster.local]", HTTP_80,
                    "{address: 10.0.0.2, ports: {http: 8081}}");

    static String route(String namespace, String parent, String backend) {
        return """
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web-split, namespace: %s}
                spec:
                  parentRefs: [%s]
                  hostnames: [ignored.example.com]
                  rules:
                  - matches: [{path: {type: PathPrefix, value: /v2}}]
                    backendRefs: [{name: %s, namespace: demo, port: 80}]
                  - backendRefs: [{name: web, namespace: demo, port: 80}]
                """.formatted(namespace, parent, backend);
    }

    static final String PRODUCER = route("demo", "{group: \"\", kind: Service, name: web}", "web-v2");

    static VirtualHost web(MeshSnapshot s, String namespace) {
        return routes(sidecar("10.0.0.9", namespace), s, "80").getVirtualHostsList().stream()
                .filter(v -> v.getDomainsList().contains("web.demo.svc.cluster.local")).findFirst()
                .orElseThrow(() -> new AssertionError("no virtual host for web.demo"));
    }

    @Test
    void routeWhoseParentIsAServiceBecomesItsMeshVirtualService() {
        MeshSnapshot s = SidecarFixtures.snapshot(SERVICES + PRODUCER);
        VirtualService vs = s.virtualServices().stream().filter(VirtualService::gatewaySemantics).findFirst()
                .orElseThrow();
        assertEquals(List.of("web.demo.svc.cluster.local"), vs.hosts(), "the Service's host, not the route's hostnames");
        assertEquals(List.of("mesh"), vs.gateways());
        assertEquals("demo~web.demo.svc.cluster.local", vs.name(), "istiod's mergeHTTPRoutes: the merge key");
        assertEquals("demo", vs.namespace());

        List<Route> routes = web(s, "demo").getRoutesList();
        assertEquals("/v2", routes.get(0).getMatch().getPathSeparatedPrefix());
        assertEquals("outbound|80||web-v2.demo.svc.cluster.local", routes.get(0).getRoute().getCluster());
        assertEquals("outbound|80||web.demo.svc.cluster.local", routes.get(1).getRoute().getCluster());
        assertEquals(List.of("demo.web-split.0", "demo.web-split.1"), routes.stream().map(Route::getName).toList());
        assertEquals(routes, web(s, "other").getRoutesList(), "a producer route routes every namespace's sidecars");
    }

    @Test
    void consumerRouteInAnotherNamespaceRoutesOnlyThatNamespacesSidecars() {
        MeshSnapshot s = SidecarFixtures.snapshot(SERVICES + route("shop",
                "{group: \"\", kind: Service, name: web, namespace: demo}", "web-v2"));
        assertEquals("outbound|80||web-v2.demo.svc.cluster.local", web(s, "shop").getRoutes(0).getRoute().getCluster());
        assertTrue(web(s, "demo").getRoutesList().stream().noneMatch(r -> r.getName().startsWith("shop.")),
                "another namespace's sidecars keep the Service's default route");
    }

    @Test
    void parentPortNarrowsTheRouteToThatPort() {
        MeshSnapshot s = SidecarFixtures.snapshot(SERVICES + route("demo",
                "{group: \"\", kind: Service, name: web, port: 80}", "web-v2"));
        VirtualService vs = s.virtualServices().stream().filter(VirtualService::gatewaySemantics).findFirst()
                .orElseThrow();
        assertTrue(vs.http().stream().allMatch(r -> r.match().size() == 1 && r.match().get(0).port() == 80),
                vs.http().toString());
        assertEquals("outbound|80||web-v2.demo.svc.cluster.local", web(s, "demo").getRoutes(0).getRoute().getCluster());

        MeshSnapshot other = SidecarFixtures.snapshot(SERVICES + route("demo",
                "{group: \"\", kind: Service, name: web, port: 8080}", "web-v2"));
        assertTrue(web(other, "demo").getRoutesList().stream().noneMatch(r -> r.getName().startsWith("demo.web-split")),
                "a route of another port of the Service does not apply on 80");
    }

    @Test
    void routesForTwoPortsOfOneServiceBothApply() {
        String twoPorts = SidecarFixtures.services("multi", "demo", "[multi.demo.svc.cluster.local]",
                "[{number: 80, name: http, protocol: HTTP}, {number: 8080, name: http-alt, protocol: HTTP}]",
                "{address: 10.0.0.3, ports: {http: 8081, http-alt: 8082}}");
        MeshSnapshot s = SidecarFixtures.snapshot(SERVICES + twoPorts + """
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: multi-80, namespace: demo}
                spec:
                  parentRefs: [{group: "", kind: Service, name: multi, port: 80}]
                  rules: [{backendRefs: [{name: web-v2, port: 80}]}]
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: multi-8080, namespace: demo}
                spec:
                  parentRefs: [{group: "", kind: Service, name: multi, port: 8080}]
                  rules: [{backendRefs: [{name: web, port: 80}]}]
                """);
        assertEquals(List.of("demo~8080~multi.demo.svc.cluster.local", "demo~80~multi.demo.svc.cluster.local"),
                s.virtualServices().stream().filter(VirtualService::gatewaySemantics).map(VirtualService::name)
                        .sorted().toList());
        for (String[] port : new String[][] {{"80", "web-v2"}, {"8080", "web"}}) {
            VirtualHost vh = routes(sidecar("10.0.0.9", "demo"), s, port[0]).getVirtualHostsList().stream()
                    .filter(v -> v.getDomainsList().contains("multi.demo.svc.cluster.local")).findFirst()
                    .orElseThrow();
            assertEquals("outbound|80||" + port[1] + ".demo.svc.cluster.local", vh.getRoutes(0).getRoute().getCluster(),
                    "port " + port[0] + ": a sidecar takes the host's VirtualService that has routes for the port");
        }
    }

    @Test
    void parentServiceThatDoesNotExistAttachesNothing() {
        MeshSnapshot s = SidecarFixtures.snapshot(SERVICES + route("demo", "{group: \"\", kind: Service, name: nope}",
                "web-v2"));
        assertTrue(s.virtualServices().stream().noneMatch(VirtualService::gatewaySemantics));
        assertTrue(s.warnings().stream().anyMatch(w -> w.equals("HTTPRoute demo/web-split: parent service: \"nope\""
                + " not found in namespace demo (NoMatchingParent)")), s.warnings().toString());
    }
}
