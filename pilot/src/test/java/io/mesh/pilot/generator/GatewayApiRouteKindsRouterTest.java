package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes Gateway API's GRPCRoute, TLSRoute and TCPRoute, and listeners of protocol TLS (Passthrough and
 * Terminate) and TCP, reach a router proxy as istiod serves them: GRPCRoute rules as HTTP routes on
 * {@code /SERVICE/METHOD} in the same virtual host as the HTTPRoutes of the listener and hostname, TLSRoutes as
 * filter chains by SNI, TCPRoutes as the listener's tcp_proxy (after TLS termination on a TLS Terminate listener).
 */
class GatewayApiRouteKindsRouterTest {

    static final String SERVICES = GatewayApiRouterTest.SERVICES
            + SidecarFixtures.services("greeter", "demo", "[greeter.demo.svc.cluster.local]",
                    "[{number: 9000, name: grpc, protocol: GRPC}]", "{address: 10.0.0.3, ports: {grpc: 9000}}")
            + SidecarFixtures.services("greeter-v2", "demo", "[greeter-v2.demo.svc.cluster.local]",
                    "[{number: 9000, name: grpc, protocol: GRPC}]", "{address: 10.0.0.4, ports: {grpc: 9000}}")
            + SidecarFixtures.services("db", "demo", "[db.demo.svc.cluster.local]",
                    "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.0.5, ports: {tcp: 5432}}")
            + SidecarFixtures.services("cache", "demo", "[cache.demo.svc.cluster.local]",
                    "[{number: 6379, name: tcp, protocol: TCP}]", "{address: 10.0.0.6, ports: {tcp: 6379}}")
            + SidecarFixtures.services("cache-v2", "demo", "[cache-v2.demo.svc.cluster.local]",
                    "[{number: 6379, name: tcp, protocol: TCP}]", "{address: 10.0.0.7, ports: {tcp: 6379}}");

    static final String GATEWAY = """
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
              listeners:
              - {name: http, port: 8080, protocol: HTTP, hostname: "*.example.com", allowedRoutes: {namespaces: {from: All}}}
              - name: tls
                port: 9443
                protocol: TLS
                hostname: db.example.com
                tls: {mode: Passthrough}
                allowedRoutes: {namespaces: {from: All}}
              - {name: tcp, port: 9000, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}
              - name: tls-term
                port: 9444
                protocol: TLS
                hostname: secure.example.com
                tls: {certificateRefs: [{name: edge-cert}]}
                allowedRoutes: {namespaces: {from: All}}
            """;

    static final String HTTP_ROUTE = """
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web, namespace: demo, creationTimestamp: "2026-01-01T00:00:00Z"}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              hostnames: [grpc.example.com]
              rules:
              - matches: [{path: {type: Exact, value: /healthz}}]
                backendRefs: [{name: web, port: 80}]
            """;

    static final String GRPC_ROUTE = """
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: GRPCRoute
            metadata: {name: greeter, namespace: demo, creationTimestamp: "2026-01-02T00:00:00Z"}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              hostnames: [grpc.example.com]
              rules:
              - matches:
                - method: {service: helloworld.Greeter, method: SayHello}
                  headers: [{name: x-canary, value: "yes"}]
                - method: {service: helloworld.Greeter}
                filters:
                - type: RequestHeaderModifier
                  requestHeaderModifier: {set: [{name: x-via, value: edge}]}
                backendRefs:
                - {name: greeter, port: 9000, weight: 90}
                - {name: greeter-v2, port: 9000, weight: 10}
              - matches: [{method: {method: Check}}]
                backendRefs: [{name: web, port: 80}]
              - matches: [{method: {type: RegularExpression, service: "helloworld\\\\..*"}}]
                backendRefs: [{name: greeter, port: 9000}]
            """;

    static final String L4_ROUTES = """
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TLSRoute
            metadata: {name: db, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              rules: [{backendRefs: [{name: db, port: 5432}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TCPRoute
            metadata: {name: cache, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: tcp}]
              rules: [{backendRefs: [{name: cache, port: 6379}, {name: cache-v2, port: 6379, weight: 3}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TCPRoute
            metadata: {name: secure-db, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: tls-term}]
              rules: [{backendRefs: [{name: db, port: 5432}]}]
            """;

    static MeshSnapshot snapshot(String yaml) {
        return SidecarFixtures.snapshot(SERVICES + yaml);
    }

    static VirtualHost host(RouteConfiguration rc, String domain) {
        return GatewayApiRouterTest.host(rc, domain);
    }

    static TcpProxy tcpProxy(FilterChain chain) throws InvalidProtocolBufferException {
        Filter f = chain.getFiltersList().stream().filter(x -> x.getName().equals(SidecarListenerGenerator.TCP_PROXY))
                .findFirst().orElseThrow(() -> new AssertionError("no tcp_proxy in " + chain));
        return f.getTypedConfig().unpack(TcpProxy.class);
    }

    @Test
    void grpcRouteJoinsTheHttpRoutesVirtualHostWithMethodMatchesOnThePath() {
        MeshSnapshot s = snapshot(GATEWAY + HTTP_ROUTE + GRPC_ROUTE);
        List<Route> routes = host(routes(router(), s, "http.8080"), "grpc.example.com").getRoutesList();
        // Gateway API precedence over both kinds: exact paths (the longer first), the prefix, then regexes, longer first.
        assertEquals(List.of("demo.greeter.0", "demo.web.0", "demo.greeter.0", "demo.greeter.2", "demo.greeter.1"),
                routes.stream().map(Route::getName).toList());
        Route sayHello = routes.get(0);
        assertEquals("/helloworld.Greeter/SayHello", sayHello.getMatch().getPath());
        assertEquals("x-canary", sayHello.getMatch().getHeaders(0).getName());
        assertEquals("yes", sayHello.getMatch().getHeaders(0).getStringMatch().getExact());
        assertEquals(List.of("outbound|9000||greeter.demo.svc.cluster.local:90",
                "outbound|9000||greeter-v2.demo.svc.cluster.local:10"), sayHello.getRoute().getWeightedClusters()
                .getClustersList().stream().map(c -> c.getName() + ":" + c.getWeight().getValue()).toList());
        assertEquals(List.of("x-via=edge"), sayHello.getRequestHeadersToAddList().stream()
                .map(h -> h.getHeader().getKey() + "=" + h.getHeader().getValue()).toList());
        assertEquals("/healthz", routes.get(1).getMatch().getPath());
        // A service alone is a prefix by whole segments: /helloworld.Greeter/ANY.
        assertEquals("/helloworld.Greeter", routes.get(2).getMatch().getPathSeparatedPrefix());
        assertEquals("/helloworld\\..*/.+", routes.get(3).getMatch().getSafeRegex().getRegex());
        assertEquals("outbound|9000||greeter.demo.svc.cluster.local", routes.get(3).getRoute().getCluster());
        assertEquals("/[^/]+/Check", routes.get(4).getMatch().getSafeRegex().getRegex());
        assertEquals("outbound|80||web.demo.svc.cluster.local", routes.get(4).getRoute().getCluster());
        // One VirtualService for the listener and hostname holds both kinds' routes, as in istiod.
        assertEquals(1, s.virtualServices().stream().filter(vs -> vs.hosts().equals(List.of("grpc.example.com")))
                .count());
    }

    @Test
    void grpcRouteAloneGetsTheListenersVirtualServiceInItsNamespace() {
        MeshSnapshot s = snapshot(GATEWAY + GRPC_ROUTE);
        List<Route> routes = host(routes(router(), s, "http.8080"), "grpc.example.com").getRoutesList();
        assertEquals(4, routes.size());
        assertTrue(s.virtualServices().stream().anyMatch(vs -> vs.namespace().equals("demo")
                && vs.name().equals("istio-system~edge~istio-autogenerated-k8s-gateway~http~grpc.example.com")));
    }

    @Test
    void tlsPassthroughListenerRoutesTlsRoutesBySniWithoutTerminating() throws Exception {
        MeshSnapshot s = snapshot(GATEWAY + L4_ROUTES);
        Listener tls = listener(router(), s, "0.0.0.0_9443");
        assertEquals("envoy.filters.listener.tls_inspector", tls.getListenerFilters(0).getName());
        assertEquals(1, tls.getFilterChainsCount());
        FilterChain chain = tls.getFilterChains(0);
        // The route names no hostname: it takes the listener's, as the SNI to match.
        assertEquals(List.of("db.example.com"), chain.getFilterChainMatch().getServerNamesList());
        assertFalse(chain.hasTransportSocket(), "passthrough: the client's TLS goes to the backend untouched");
        assertEquals("outbound|5432||db.demo.svc.cluster.local", tcpProxy(chain).getCluster());
    }

    @Test
    void tcpListenerSendsConnectionsToTheTcpRoutesBackendsByWeight() throws Exception {
        MeshSnapshot s = snapshot(GATEWAY + L4_ROUTES);
        Listener tcp = listener(router(), s, "0.0.0.0_9000");
        assertEquals(1, tcp.getFilterChainsCount());
        assertEquals(List.of("outbound|6379||cache.demo.svc.cluster.local:1",
                "outbound|6379||cache-v2.demo.svc.cluster.local:3"), tcpProxy(tcp.getFilterChains(0))
                .getWeightedClusters().getClustersList().stream().map(c -> c.getName() + ":" + c.getWeight()).toList());
    }

    @Test
    void tlsTerminateListenerDecryptsWithTheCertificateThenUsesTheTcpRoute() throws Exception {
        // The TLSRoute on the Passthrough listener only: the TCPRoute is then the one route of the Terminate listener.
        MeshSnapshot s = snapshot(GATEWAY + L4_ROUTES.replace("parentRefs: [{name: edge, namespace: istio-system}]\n"
                + "  rules: [{backendRefs: [{name: db,", "parentRefs: [{name: edge, namespace: istio-system, sectionName:"
                + " tls}]\n  rules: [{backendRefs: [{name: db,"));
        assertTrue(s.virtualServices().stream().filter(vs -> vs.name().startsWith("db~tls~"))
                .allMatch(vs -> vs.gateways().equals(List.of("istio-system/edge~istio-autogenerated-k8s-gateway~tls"))));
        Listener term = listener(router(), s, "0.0.0.0_9444");
        FilterChain chain = term.getFilterChains(0);
        assertEquals(List.of("secure.example.com"), chain.getFilterChainMatch().getServerNamesList());
        String tls = chain.getTransportSocket().getTypedConfig().toString();
        assertTrue(tls.contains("kubernetes-gateway://istio-system/edge-cert"), tls);
        assertEquals("outbound|5432||db.demo.svc.cluster.local", tcpProxy(chain).getCluster());
    }

    @Test
    void routeKindsOnlyAttachToListenersThatSupportThem() {
        // The TLSRoute names no section: it attaches to both TLS listeners (Passthrough, and Terminate, which takes
        // TLSRoutes and TCPRoutes: TLSRouteModeTerminate), not to the TCP one; the HTTPRoute to the HTTP one.
        MeshSnapshot s = snapshot(GATEWAY + HTTP_ROUTE + L4_ROUTES + """
                ---
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TCPRoute
                metadata: {name: wrong, namespace: demo}
                spec:
                  parentRefs: [{name: edge, namespace: istio-system, sectionName: http}]
                  rules: [{backendRefs: [{name: db, port: 5432}]}]
                """);
        assertEquals(List.of("istio-system/edge~istio-autogenerated-k8s-gateway~tls",
                "istio-system/edge~istio-autogenerated-k8s-gateway~tls-term"), s.virtualServices().stream()
                .filter(vs -> vs.name().startsWith("db~tls~")).flatMap(vs -> vs.gateways().stream()).sorted().toList());
        assertEquals(List.of("istio-system/edge~istio-autogenerated-k8s-gateway~http"), s.virtualServices().stream()
                .filter(vs -> !vs.http().isEmpty()).flatMap(vs -> vs.gateways().stream()).distinct().toList());
        assertTrue(s.virtualServices().stream().noneMatch(vs -> vs.name().startsWith("wrong~")));
        assertTrue(s.warnings().stream().anyMatch(w -> w.startsWith("TCPRoute demo/wrong: not attached to listener http")
                && w.contains("kind TCPRoute is not allowed") && w.contains("NotAllowedByListeners")),
                s.warnings().toString());
    }

    @Test
    void tcpRouteBackendInAnotherNamespaceIsNotPermittedAsAnHttpRoutes() throws Exception {
        MeshSnapshot s = snapshot(GATEWAY + L4_ROUTES.replace("{name: cache, port: 6379}",
                "{name: cache, namespace: other, port: 6379}"));
        assertTrue(s.warnings().stream().anyMatch(w -> w.startsWith("TCPRoute demo/cache: backendRef other/cache")
                && w.contains("RefNotPermitted")), s.warnings().toString());
        assertEquals("outbound|6379||cache.other.not-permitted.svc.cluster.local", tcpProxy(listener(router(), s,
                "0.0.0.0_9000").getFilterChains(0)).getWeightedClusters().getClusters(0).getName());
    }

    @Test
    void tlsRouteWithoutAnySniNameIsNotServedAndSaysWhy() {
        MeshSnapshot s = snapshot(GATEWAY.replace("\n    hostname: db.example.com", "") + L4_ROUTES);
        // Not on the Passthrough listener; the Terminate one (hostname secure.example.com) still takes it.
        assertEquals(List.of(List.of("istio-system/edge~istio-autogenerated-k8s-gateway~tls-term")), s.virtualServices()
                .stream().filter(vs -> vs.name().startsWith("db~tls~")).map(VirtualService::gateways).toList());
        assertTrue(s.warnings().stream().anyMatch(w -> w.startsWith("TLSRoute demo/db: neither the route nor listener"
                + " tls has a hostname")), s.warnings().toString());
    }

    @Test
    void allowedRouteKindsNarrowWhatAListenerTakes() {
        // The HTTP listener takes GRPCRoutes only: the HTTPRoute (its parentRef names no listener) attaches nowhere.
        MeshSnapshot s = snapshot(GATEWAY.replace("hostname: \"*.example.com\", allowedRoutes: {namespaces: {from: All}}",
                "hostname: \"*.example.com\", allowedRoutes: {namespaces: {from: All}, kinds: [{kind: GRPCRoute}]}")
                + HTTP_ROUTE + GRPC_ROUTE);
        List<Route> routes = host(routes(router(), s, "http.8080"), "grpc.example.com").getRoutesList();
        assertEquals(List.of("demo.greeter.0", "demo.greeter.0", "demo.greeter.2", "demo.greeter.1"),
                routes.stream().map(Route::getName).toList());
    }
}
