package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GatewayApiRouteKindsRouterTest.tcpProxy;
import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Gateway API's TLSRouteModeTerminate as the newest istiod serves it: a TLSRoute attaches to a {@code protocol:
 * TLS} listener in {@code Terminate} mode (which takes TLSRoutes and TCPRoutes), becomes the same {@code tls}
 * VirtualService as on a Passthrough listener, and the router terminates TLS with the listener's certificate (a chain
 * per listener on its hostname's SNI) and sends the decrypted stream to the route's backends.
 */
class GatewayApiTlsRouteTerminateTest {

    static final String SERVICES = GatewayApiRouteKindsRouterTest.SERVICES;

    static final String GATEWAY = """
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
              listeners:
              - name: db
                port: 9444
                protocol: TLS
                hostname: db.example.com
                tls: {mode: Terminate, certificateRefs: [{name: db-cert}]}
                allowedRoutes: {namespaces: {from: All}}
              - name: cache
                port: 9444
                protocol: TLS
                hostname: cache.example.com
                tls: {certificateRefs: [{name: cache-cert}]}
                allowedRoutes: {namespaces: {from: All}}
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TLSRoute
            metadata: {name: db, namespace: demo, creationTimestamp: "2026-01-01T00:00:00Z"}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: db}]
              hostnames: [db.example.com]
              rules: [{backendRefs: [{name: db, port: 5432}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TLSRoute
            metadata: {name: cache, namespace: demo, creationTimestamp: "2026-01-02T00:00:00Z"}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: cache}]
              rules: [{backendRefs: [{name: cache, port: 6379}, {name: cache-v2, port: 6379, weight: 3}]}]
            """;

    static MeshSnapshot snapshot(String yaml) {
        return SidecarFixtures.snapshot(SERVICES + yaml);
    }

    static FilterChain chainFor(Listener l, String sni) {
        return l.getFilterChainsList().stream().filter(c -> c.getFilterChainMatch().getServerNamesList().contains(sni))
                .findFirst().orElseThrow(() -> new AssertionError("no chain for " + sni + " in " + l));
    }

    @Test
    void eachTerminateListenerDecryptsWithItsCertificateAndSendsTheStreamToItsTlsRoutesBackends() throws Exception {
        MeshSnapshot s = snapshot(GATEWAY);
        // The same tls VirtualService as on a Passthrough listener, matched by the route's hostname.
        assertEquals(List.of("db.example.com"), s.virtualServices().stream().filter(vs -> vs.name()
                .startsWith("db~tls~")).flatMap(vs -> vs.tls().get(0).match().get(0).sniHosts().stream()).toList());
        Listener l = listener(router(), s, "0.0.0.0_9444");
        assertEquals("envoy.filters.listener.tls_inspector", l.getListenerFilters(0).getName());
        assertEquals(2, l.getFilterChainsCount());

        FilterChain db = chainFor(l, "db.example.com");
        String dbTls = db.getTransportSocket().getTypedConfig().toString();
        assertTrue(dbTls.contains("kubernetes-gateway://istio-system/db-cert"), dbTls);
        assertEquals("outbound|5432||db.demo.svc.cluster.local", tcpProxy(db).getCluster());

        FilterChain cache = chainFor(l, "cache.example.com");
        String cacheTls = cache.getTransportSocket().getTypedConfig().toString();
        assertTrue(cacheTls.contains("kubernetes-gateway://istio-system/cache-cert"), cacheTls);
        assertEquals(List.of("outbound|6379||cache.demo.svc.cluster.local:1",
                "outbound|6379||cache-v2.demo.svc.cluster.local:3"), tcpProxy(cache).getWeightedClusters()
                .getClustersList().stream().map(c -> c.getName() + ":" + c.getWeight()).toList());
    }

    @Test
    void withATcpRouteOnTheSameListenerTheOlderRouteTakesTheConnections() throws Exception {
        // istiod's gateway listener builder takes the first VirtualService bound to the server (the oldest route):
        // its tcp route, or, for a TLSRoute's, its tls route.
        String tcpRoute = """
                ---
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TCPRoute
                metadata: {name: older, namespace: demo, creationTimestamp: "2025-12-01T00:00:00Z"}
                spec:
                  parentRefs: [{name: edge, namespace: istio-system, sectionName: db}]
                  rules: [{backendRefs: [{name: cache, port: 6379}]}]
                """;
        Listener older = listener(router(), snapshot(GATEWAY + tcpRoute), "0.0.0.0_9444");
        assertEquals("outbound|6379||cache.demo.svc.cluster.local", tcpProxy(chainFor(older, "db.example.com"))
                .getCluster());
        Listener newer = listener(router(), snapshot(GATEWAY + tcpRoute.replace("2025-12-01", "2026-02-01")),
                "0.0.0.0_9444");
        assertEquals("outbound|5432||db.demo.svc.cluster.local", tcpProxy(chainFor(newer, "db.example.com"))
                .getCluster());
    }

    @Test
    void aTlsRouteWithoutHostnamesOnATerminateListenerWithoutHostnameIsServed() throws Exception {
        // Unlike Passthrough (SNI routing needs a name), termination takes any SNI: istiod's "*".
        MeshSnapshot s = snapshot(GATEWAY.replace("\n    hostname: cache.example.com", "")
                .replace("port: 9444\n    protocol: TLS\n    hostname: db.example.com", "port: 9445\n    protocol: TLS\n"
                        + "    hostname: db.example.com"));
        assertTrue(s.warnings().stream().noneMatch(w -> w.contains("TLSRoute demo/cache")), s.warnings().toString());
        Listener l = listener(router(), s, "0.0.0.0_9444");
        assertEquals(1, l.getFilterChainsCount());
        FilterChain chain = l.getFilterChains(0);
        assertEquals(List.of(), chain.getFilterChainMatch().getServerNamesList(), "every SNI, and none");
        assertTrue(chain.hasTransportSocket());
        assertEquals(List.of("outbound|6379||cache.demo.svc.cluster.local:1",
                "outbound|6379||cache-v2.demo.svc.cluster.local:3"), tcpProxy(chain).getWeightedClusters()
                .getClustersList().stream().map(c -> c.getName() + ":" + c.getWeight()).toList());
    }

    @Test
    void allowedRouteKindsOfTcpRouteOnlyKeepTheTlsRouteOff() {
        MeshSnapshot s = snapshot(GATEWAY.replace("name: db-cert}]}\n    allowedRoutes: {namespaces: {from: All}}",
                "name: db-cert}]}\n    allowedRoutes: {namespaces: {from: All}, kinds: [{kind: TCPRoute}]}"));
        assertTrue(s.virtualServices().stream().noneMatch(vs -> vs.name().startsWith("db~tls~")));
        assertTrue(s.warnings().stream().anyMatch(w -> w.startsWith("TLSRoute demo/db: not attached to listener db")
                && w.contains("kind TLSRoute is not allowed by the listener's allowedRoutes.kinds")
                && w.contains("NotAllowedByListeners")),
                s.warnings().toString());
    }
}
