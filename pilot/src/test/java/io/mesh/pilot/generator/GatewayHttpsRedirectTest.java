package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Istio's {@code tls.httpsRedirect} on a Gateway's HTTP server, as istiod writes it: the virtual hosts of the hosts
 * that server takes require TLS ({@code require_tls: ALL}, a 301 to https for plain HTTP) and keep their routes, and
 * the server's hosts that no VirtualService routes get a virtual host of their own that only redirects. Other servers'
 * hosts, and the same host on another port, are left as they are.
 */
class GatewayHttpsRedirectTest {

    static final String BASE = SidecarFixtures.services("svc", "demo", "[web.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.1, ports: {http: 8081}}") + """
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: public, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 8080, name: http, protocol: HTTP}
                hosts: [shop.example.com, legacy.example.com]
                tls: {httpsRedirect: true}
              - port: {number: 8080, name: http-plain, protocol: HTTP}
                hosts: [api.example.com]
              - port: {number: 9090, name: http-other, protocol: HTTP}
                hosts: [shop.example.com]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: web, namespace: demo}
            spec:
              hosts: [shop.example.com, api.example.com]
              gateways: [istio-system/public]
              http:
              - route: [{destination: {host: web}}]
            """;

    /** Each virtual host's name, domains, whether it requires TLS and how many routes it has. */
    static Map<String, String> summary(RouteConfiguration rc) {
        Map<String, String> out = new TreeMap<>();
        for (VirtualHost vh : rc.getVirtualHostsList()) {
            out.put(vh.getName(), vh.getDomainsList() + " " + vh.getRequireTls() + " routes=" + vh.getRoutesCount());
        }
        return out;
    }

    @Test
    void theRedirectingServersHostsRequireTlsAndTheOthersDoNot() {
        RouteConfiguration rc = routes(router(), snapshot(BASE), "http.8080");
        // One VirtualService on both servers: two virtual hosts, the second named after its host (names are unique).
        assertEquals(Map.of(
                "demo/web:8080", "[shop.example.com, shop.example.com:8080] ALL routes=1",
                "api.example.com:8080", "[api.example.com, api.example.com:8080] NONE routes=1",
                "legacy.example.com:8080", "[legacy.example.com, legacy.example.com:8080] ALL routes=0"), summary(rc));
        // The redirected host keeps its routes (pilot's answer over TLS ports is the same table's).
        VirtualHost shop = rc.getVirtualHostsList().stream().filter(v -> v.getDomains(0).equals("shop.example.com"))
                .findFirst().orElseThrow();
        assertEquals("outbound|80||web.demo.svc.cluster.local", shop.getRoutes(0).getRoute().getCluster());
    }

    @Test
    void theSameHostOnAPortWithoutRedirectIsServedPlain() {
        assertEquals(Map.of("demo/web:9090", "[shop.example.com, shop.example.com:9090] NONE routes=1"),
                summary(routes(router(), snapshot(BASE), "http.9090")));
    }

    @Test
    void aRedirectingServerWithoutAnyVirtualServiceRedirectsItsHosts() {
        String gatewayOnly = """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: public, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 8080, name: http, protocol: HTTP}
                    hosts: ["*"]
                    tls: {httpsRedirect: true}
                """;
        assertEquals(Map.of("*:8080", "[*] ALL routes=0"), summary(routes(router(), snapshot(gatewayOnly), "http.8080")));
    }
}
