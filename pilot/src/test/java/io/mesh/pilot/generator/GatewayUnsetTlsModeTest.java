package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A Gateway server whose tls has no mode, as istiod serves it: PASSTHROUGH (istio/api's zero value), so an HTTPS server
 * written {@code tls: {credentialName: ...}} gets the same SNI-matched tcp_proxy chains as an explicit PASSTHROUGH one
 * (istiod: not {@code IsHTTPServer}, so {@code buildGatewayNetworkFiltersFromTLSRoutes}), never a chain that terminates
 * TLS; an HTTP server's {@code tls: {httpsRedirect: true}} stays one plain HTTP chain that redirects.
 */
class GatewayUnsetTlsModeTest {

    static final String CONFIG = SidecarFixtures.services("backends", "demo",
            "[db.demo.svc.cluster.local, web.demo.svc.cluster.local]", "[{number: 5432, name: tcp, protocol: TCP}]",
            "{address: 10.0.0.5}") + """
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 443, name: https-unset, protocol: HTTPS}
                hosts: [db.example.com]
                tls: {credentialName: db-cert}
              - port: {number: 8443, name: https-passthrough, protocol: HTTPS}
                hosts: [db.example.com]
                tls: {mode: PASSTHROUGH}
              - port: {number: 8080, name: http-redirect, protocol: HTTP}
                hosts: [shop.example.com]
                tls: {httpsRedirect: true}
              - port: {number: 8080, name: http, protocol: HTTP}
                hosts: [api.example.com]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: db, namespace: demo}
            spec:
              hosts: [db.example.com]
              gateways: [istio-system/edge]
              tls:
              - match: [{sniHosts: [db.example.com]}]
                route: [{destination: {host: db}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: web, namespace: demo}
            spec:
              hosts: [shop.example.com, api.example.com]
              gateways: [istio-system/edge]
              http:
              - route: [{destination: {host: web, port: {number: 5432}}}]
            """;

    @Test
    void anHttpsServerWithoutModeGetsTheSniMatchedTcpProxyChainOfAnExplicitPassthroughServer() {
        MeshSnapshot s = snapshot(CONFIG);
        Listener unset = listener(router(), s, "0.0.0.0_443");
        Listener explicit = listener(router(), s, "0.0.0.0_8443");

        assertEquals(List.of("envoy.filters.listener.tls_inspector"),
                unset.getListenerFiltersList().stream().map(ListenerFilter::getName).toList());
        assertEquals(1, unset.getFilterChainsCount(), unset.toString());
        FilterChain chain = unset.getFilterChains(0);
        assertEquals(List.of("db.example.com"), chain.getFilterChainMatch().getServerNamesList());
        assertFalse(chain.hasTransportSocket(), "the TLS stream is not terminated: no certificate, db-cert or other");
        assertEquals(List.of("envoy.filters.network.tcp_proxy"), chain.getFiltersList().stream().map(Filter::getName)
                .toList(), "no http_connection_manager");
        assertEquals("outbound|5432||db.demo.svc.cluster.local", GatewayServerTlsTest.tcpProxy(chain).getCluster());

        assertEquals(explicit.getListenerFiltersList(), unset.getListenerFiltersList());
        assertEquals(explicit.getFilterChainsList(), unset.getFilterChainsList(),
                "the same chains as mode: PASSTHROUGH");
    }

    @Test
    void anHttpServerWithHttpsRedirectStaysOnePlainHttpChainThatRedirects() {
        MeshSnapshot s = snapshot(CONFIG);
        Listener http = listener(router(), s, "0.0.0.0_8080");
        assertEquals(1, http.getFilterChainsCount(), "one plain chain for the port's HTTP servers: " + http);
        FilterChain chain = http.getFilterChains(0);
        assertFalse(chain.hasTransportSocket());
        assertFalse(chain.hasFilterChainMatch());
        assertEquals(List.of("envoy.filters.network.http_connection_manager"),
                chain.getFiltersList().stream().map(Filter::getName).toList());

        List<String> requireTls = routes(router(), s, "http.8080").getVirtualHostsList().stream()
                .map(vh -> vh.getDomains(0) + " " + vh.getRequireTls()).toList();
        assertEquals(List.of("shop.example.com ALL", "api.example.com NONE"), requireTls);
        VirtualHost shop = routes(router(), s, "http.8080").getVirtualHosts(0);
        assertEquals("outbound|5432||web.demo.svc.cluster.local", shop.getRoutes(0).getRoute().getCluster(),
                "the redirected host keeps its routes");
    }
}
