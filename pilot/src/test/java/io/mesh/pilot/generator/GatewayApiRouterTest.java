package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A Kubernetes Gateway API Gateway and HTTPRoute reach a router proxy as istiod serves them: a listener on the
 * listener's port, a virtual host for the route's hostname, routes with the matches (path prefixes by segment), weights,
 * filters and timeouts, and 500 for a backend that is not a Service. The router is the one the Gateway's address names
 * (here a ServiceEntry whose workloadSelector selects it, as in local mode).
 */
class GatewayApiRouterTest {

    static final String SERVICES = SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.1, ports: {http: 8081}}")
            + SidecarFixtures.services("web-v2", "demo", "[web-v2.demo.svc.cluster.local]",
                    SidecarFixtures.HTTP_80, "{address: 10.0.0.2, ports: {http: 8081}}")
            + """
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: istio-ingressgateway, namespace: istio-system}
            spec:
              hosts: [istio-ingressgateway.istio-system.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 8080, name: http, protocol: HTTP}]
              resolution: STATIC
              workloadSelector: {labels: {istio: ingressgateway}}
            """;

    static String gateway(String from, String addresses) {
        return """
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  addresses: %s
                  listeners:
                  - name: http
                    port: 8080
                    protocol: HTTP
                    hostname: "*.example.com"
                    allowedRoutes: {namespaces: {from: %s}}
                  - name: https
                    port: 8443
                    protocol: HTTPS
                    tls: {certificateRefs: [{name: edge-cert}]}
                    allowedRoutes: {namespaces: {from: %s}}
                """.formatted(addresses, from, from);
    }

    static final String ADDRESS = "[{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]";

    static final String ROUTE = """
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              hostnames: [web.example.com]
              rules:
              - backendRefs:
                - {name: web, port: 80, weight: 90}
                - {name: web-v2, port: 80, weight: 10}
                filters:
                - type: RequestHeaderModifier
                  requestHeaderModifier: {set: [{name: x-via, value: edge}], remove: [x-debug]}
                - type: ResponseHeaderModifier
                  responseHeaderModifier: {add: [{name: x-served-by, value: mesh}]}
                timeouts: {request: 3s}
              - matches:
                - path: {type: PathPrefix, value: /api}
                  headers: [{name: x-version, value: v2}]
                backendRefs: [{name: web-v2, port: 80}]
              - matches: [{path: {type: PathPrefix, value: /old}}]
                filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]
                backendRefs: [{name: web, port: 80}]
              - matches: [{path: {type: Exact, value: /login}, method: POST}]
                filters:
                - type: RequestRedirect
                  requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /signin}, statusCode: 301}
              - matches: [{path: {type: PathPrefix, value: /missing}}]
                backendRefs: [{name: nope, port: 80}]
            """;

    static MeshSnapshot snapshot(String yaml) {
        return SidecarFixtures.snapshot(SERVICES + yaml);
    }

    static VirtualHost host(RouteConfiguration rc, String domain) {
        return rc.getVirtualHostsList().stream().filter(v -> v.getDomainsList().contains(domain)).findFirst()
                .orElseThrow(() -> new AssertionError("no virtual host for " + domain + " in " + rc));
    }

    @Test
    void httpRouteBecomesTheRoutersVirtualHostWithRoutesInGatewayApiPrecedence() {
        RouteConfiguration rc = routes(router(), snapshot(gateway("All", ADDRESS) + ROUTE), "http.8080");
        List<Route> routes = host(rc, "web.example.com").getRoutesList();
        // Exact before prefixes, a longer prefix first, a header match before none; the rule without a match last.
        assertEquals(List.of("/login", "/missing", "/api", "/old", ""), routes.stream().map(r -> r.getMatch().hasPath()
                ? r.getMatch().getPath() : r.getMatch().getPathSeparatedPrefix()).toList());
        assertEquals("/", routes.get(4).getMatch().getPrefix());
        assertEquals(List.of("demo.web.3", "demo.web.4", "demo.web.1", "demo.web.2", "demo.web.0"),
                routes.stream().map(Route::getName).toList());

        Route login = routes.get(0);
        assertEquals(":method", login.getMatch().getHeaders(0).getName());
        assertEquals("/signin", login.getRedirect().getPathRedirect());
        assertEquals(8080, login.getRedirect().getPortRedirect(), "no port: the listener's");
        assertEquals(io.envoyproxy.envoy.config.route.v3.RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY,
                login.getRedirect().getResponseCode());

        Route api = routes.get(2);
        assertEquals("x-version", api.getMatch().getHeaders(0).getName());
        assertEquals("v2", api.getMatch().getHeaders(0).getStringMatch().getExact());
        assertEquals("outbound|80||web-v2.demo.svc.cluster.local", api.getRoute().getCluster());

        assertEquals("/new", routes.get(3).getRoute().getPrefixRewrite());

        RouteAction missing = routes.get(1).getRoute();
        assertEquals("outbound|80||nope.demo.svc.cluster.local", missing.getCluster());
        assertEquals(RouteAction.ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR,
                missing.getClusterNotFoundResponseCode(), "a backend that is not a Service answers 500, as istiod's");

        Route split = routes.get(4);
        WeightedCluster wc = split.getRoute().getWeightedClusters();
        assertEquals(List.of("outbound|80||web.demo.svc.cluster.local:90",
                "outbound|80||web-v2.demo.svc.cluster.local:10"), wc.getClustersList().stream()
                .map(c -> c.getName() + ":" + c.getWeight().getValue()).toList());
        assertEquals(3, split.getRoute().getTimeout().getSeconds());
        assertEquals(List.of("x-via=edge"), split.getRequestHeadersToAddList().stream()
                .map(h -> h.getHeader().getKey() + "=" + h.getHeader().getValue()).toList());
        assertEquals(List.of("x-debug"), split.getRequestHeadersToRemoveList());
        HeaderValueOption added = split.getResponseHeadersToAdd(0);
        assertEquals("x-served-by", added.getHeader().getKey());
        assertEquals(HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD, added.getAppendAction());
    }

    @Test
    void listenersBecomeTheRoutersListenersWithTheCertificateOverSds() {
        MeshSnapshot s = snapshot(gateway("All", ADDRESS) + ROUTE);
        Listener http = listener(router(), s, "0.0.0.0_8080");
        assertEquals(8080, http.getAddress().getSocketAddress().getPortValue());
        Listener https = listener(router(), s, "0.0.0.0_8443");
        String tls = https.getFilterChains(0).getTransportSocket().getTypedConfig().toString();
        assertTrue(tls.contains("kubernetes-gateway://istio-system/edge-cert"), tls);
        // The HTTPS listener has no hostname: the route's hostname is served on it too.
        host(routes(router(), s, "http.8443"), "web.example.com");
    }

    @Test
    void prefixRewriteToSlashDropsTheMatchedSegments() {
        String route = ROUTE.replace("replacePrefixMatch: /new", "replacePrefixMatch: \"\"");
        RouteAction old = host(routes(router(), snapshot(gateway("All", ADDRESS) + route), "http.8080"),
                "web.example.com").getRoutes(3).getRoute();
        assertEquals("^/old(/?)(.*)", old.getRegexRewrite().getPattern().getRegex());
        assertEquals("/\\2", old.getRegexRewrite().getSubstitution());
    }

    @Test
    void listenerForTheGatewaysNamespaceOnlyAdmitsNoRouteFromAnother() {
        MeshSnapshot s = snapshot(gateway("Same", ADDRESS) + ROUTE);
        assertTrue(routes(router(), s, "http.8080").getVirtualHostsList().stream()
                .noneMatch(v -> v.getDomainsList().contains("web.example.com")));
        assertTrue(s.warnings().stream().anyMatch(w -> w.contains("HTTPRoute demo/web: not attached to listener http")
                && w.contains("NotAllowedByListeners")), s.warnings().toString());
    }

    @Test
    void routeHostnameOutsideTheListenersIsNotServedThere() {
        MeshSnapshot s = snapshot(gateway("All", ADDRESS) + ROUTE.replace("[web.example.com]", "[web.example.org]"));
        assertTrue(routes(router(), s, "http.8080").getVirtualHostsList().stream()
                .noneMatch(v -> v.getDomainsList().contains("web.example.org")));
        assertTrue(s.warnings().stream().anyMatch(w -> w.contains("NoMatchingListenerHostname")), s.warnings().toString());
    }

    @Test
    void gatewayWithoutAddressIsServedByNoRouterAndSaysWhichServiceItNeeds() {
        MeshSnapshot s = snapshot(gateway("All", "[]") + ROUTE);
        assertTrue(s.gateways().isEmpty());
        assertTrue(s.warnings().stream().anyMatch(w -> w.contains("no Service edge-istio.istio-system.svc.cluster.local")),
                s.warnings().toString());
    }

    @Test
    void gatewayOfAnotherClassIsIgnored() {
        MeshSnapshot s = snapshot(gateway("All", ADDRESS).replace("gatewayClassName: istio", "gatewayClassName: envoy")
                + ROUTE);
        assertTrue(s.gateways().isEmpty());
        assertFalse(s.virtualServices().stream().anyMatch(vs -> vs.gatewaySemantics()));
    }
}
