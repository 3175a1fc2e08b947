package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import org.junit.jupiter.api.Test;

/**
 * Which port a VirtualService destination without {@code port} goes to, as istiod's GetDestinationCluster picks it:
 * the service's only port when the service it is given has one port, else the port of the route being built. Which
 * service it is given differs: a sidecar's (and a proxyless client's) HTTP routes look destinations up among the
 * services of the route's port, each cut down to that port, so they always take the route's port; a router's HTTP
 * routes, and a sidecar's or router's TCP and TLS routes, get the whole service, so a single-port one keeps its port.
 */
class DestinationPortTest {
    static final ProxyInfo CLIENT = sidecar("10.0.0.9", "demo");

    /** multi: HTTP on 9090 and 8080; single: HTTP on 7000 only; web: HTTP on 80. */
    static final String SERVICES = SidecarFixtures.services("multi", "demo", "[multi.demo.svc.cluster.local]",
            "[{number: 9090, name: http-admin, protocol: HTTP}, {number: 8080, name: http, protocol: HTTP}]",
            "{address: 10.0.0.2}")
            + SidecarFixtures.services("single", "demo", "[single.demo.svc.cluster.local]",
                    "[{number: 7000, name: http, protocol: HTTP}]", "{address: 10.0.0.3}")
            + SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]", SidecarFixtures.HTTP_80,
                    "{address: 10.0.0.4}");

    /** A VirtualService for {@code hosts} (a flow list) whose one route goes to {@code host}, no port; extra spec lines. */
    static String vs(String name, String hosts, String host, String more) {
        return """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: %s, namespace: demo}
                spec:
                  hosts: %s
                  %s
                  http:
                  - route: [{destination: {host: %s}}]
                """.formatted(name, hosts, more, host);
    }

    static String cluster(RouteConfiguration rc, String vhName) {
        VirtualHost vh = rc.getVirtualHostsList().stream().filter(v -> v.getName().equals(vhName)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + vhName + " in " + rc.getName()));
        return vh.getRoutes(0).getRoute().getCluster();
    }

    @Test
    void aMultiPortServiceRoutedWithoutPortGoesToEachRoutesPort() {
        MeshSnapshot s = snapshot(SERVICES + vs("multi", "[multi]", "multi", ""));
        assertEquals("outbound|8080||multi.demo.svc.cluster.local",
                cluster(routes(CLIENT, s, "8080"), "multi.demo.svc.cluster.local:8080"));
        assertEquals("outbound|9090||multi.demo.svc.cluster.local",
                cluster(routes(CLIENT, s, "9090"), "multi.demo.svc.cluster.local:9090"));
    }

    @Test
    void aSingleportServiceKeepsItsPortOnItsOwnRoute() {
        MeshSnapshot s = snapshot(SERVICES + vs("single", "[single]", "single", ""));
        assertEquals("outbound|7000||single.demo.svc.cluster.local",
                cluster(routes(CLIENT, s, "7000"), "single.demo.svc.cluster.local:7000"));
    }

    @Test
    void onASidecarsHttpRouteADestinationWithoutPortTakesTheRoutesPortEvenWhenItsServiceHasAnotherOne() {
        // istiod (httproute.go BuildSidecarOutboundVirtualHosts) looks single up among the services with port 80:
        // it has none, so GetDestinationCluster gets no service and takes the route's port. Name the port to reach 7000.
        MeshSnapshot s = snapshot(SERVICES + vs("web", "[web]", "single", ""));
        assertEquals("outbound|80||single.demo.svc.cluster.local",
                cluster(routes(CLIENT, s, "80"), "web.demo.svc.cluster.local:80"));
        MeshSnapshot named = snapshot(SERVICES + vs("web", "[web]", "single", "").replace("{host: single}",
                "{host: single, port: {number: 7000}}"));
        assertEquals("outbound|7000||single.demo.svc.cluster.local",
                cluster(routes(CLIENT, named, "80"), "web.demo.svc.cluster.local:80"));
    }

    @Test
    void onARouterASingleportDestinationKeepsItsPortAndAMultiPortOneTakesTheServersPort() {
        // istiod's gateway looks destinations up whole (gateway.go buildNameToServiceMapForHTTPRoutes).
        ProxyInfo router = GeneratorGoldenTest.router();
        String gatewayVs = """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: edge, namespace: istio-system}
                spec:
                  hosts: [single.example.com, multi.example.com]
                  gateways: [public]
                  http:
                  - match: [{authority: {exact: single.example.com}}]
                    route: [{destination: {host: single.demo.svc.cluster.local}}]
                  - route: [{destination: {host: multi.demo.svc.cluster.local}}]
                """;
        RouteConfiguration rc = routes(router, snapshot(SERVICES + SidecarFixtures.PUBLIC_GATEWAY + gatewayVs), "http.8080");
        VirtualHost vh = rc.getVirtualHosts(0);
        assertEquals("outbound|7000||single.demo.svc.cluster.local", vh.getRoutes(0).getRoute().getCluster());
        assertEquals("outbound|8080||multi.demo.svc.cluster.local", vh.getRoutes(1).getRoute().getCluster());
    }

    @Test
    void aSidecarsTcpRouteToASingleportDestinationKeepsItsPort() {
        // istiod's TCP routes get the sidecar scope's service (networkfilter.go, push.ServiceForHostname).
        String tcp = """
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: db, namespace: demo}
                spec:
                  hosts: [db.demo.svc.cluster.local]
                  addresses: [198.51.100.10]
                  location: MESH_INTERNAL
                  ports: [{number: 5432, name: tcp, protocol: TCP}]
                  resolution: STATIC
                  endpoints: [{address: 10.0.0.5}]
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: db-replica, namespace: demo}
                spec:
                  hosts: [db-replica.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 6432, name: tcp, protocol: TCP}]
                  resolution: STATIC
                  endpoints: [{address: 10.0.0.6}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: db, namespace: demo}
                spec:
                  hosts: [db]
                  tcp:
                  - route: [{destination: {host: db-replica}}]
                """;
        var l = listener(CLIENT, snapshot(tcp), "198.51.100.10_5432");
        TcpProxy proxy = unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(), TcpProxy.class);
        assertEquals("outbound|6432||db-replica.demo.svc.cluster.local", proxy.getCluster());
    }
}
