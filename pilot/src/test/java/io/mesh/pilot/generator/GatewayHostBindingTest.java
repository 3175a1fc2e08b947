package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Which hosts a VirtualService bound to a Gateway gets on a server, as istiod computes them: the intersection of the
 * server's hosts (after their namespace part admits the VirtualService's namespace; "./" is the Gateway's own) and
 * the VirtualService's hosts, each pair giving the narrower name.
 */
class GatewayHostBindingTest {

    static final String BASE = SidecarFixtures.services("svc", "demo", "[web.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.1, ports: {http: 8081}}");

    static String gateway(String hosts) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 8080, name: http, protocol: HTTP}
                    hosts: %s
                """.formatted(hosts);
    }

    static String vs(String name, String namespace, String hosts) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: %s, namespace: %s}
                spec:
                  hosts: %s
                  gateways: [istio-system/edge]
                  http:
                  - route: [{destination: {host: web.demo.svc.cluster.local}}]
                """.formatted(name, namespace, hosts);
    }

    /** Each virtual host's first domain, by the VirtualService it came from. */
    static Map<String, String> served(String config) {
        RouteConfiguration rc = routes(router(), snapshot(BASE + config), "http.8080");
        Map<String, String> out = new TreeMap<>();
        for (VirtualHost vh : rc.getVirtualHostsList()) {
            out.put(vh.getDomains(0), vh.getName());
        }
        return out;
    }

    @Test
    void aWildcardVirtualServiceOnANamedServerIsServedAsTheServersName() {
        assertEquals(Map.of("a.example.com", "istio-system/all:8080"),
                served(gateway("[a.example.com]") + vs("all", "istio-system", "[\"*\"]")));
        assertEquals(Map.of("a.example.com", "istio-system/shop:8080"),
                served(gateway("[a.example.com, other.test]") + vs("shop", "istio-system", "[\"*.example.com\"]")));
    }

    @Test
    void aServerWildcardTakesTheVirtualServicesNamesAsBefore() {
        assertEquals(Map.of("a.example.com", "istio-system/shop:8080"),
                served(gateway("[\"*.example.com\"]") + vs("shop", "istio-system", "[a.example.com, b.test]")));
        // Narrower wildcard on either side: the narrower one.
        assertEquals(Map.of("*.b.example.com", "istio-system/shop:8080"),
                served(gateway("[\"*.example.com\"]") + vs("shop", "istio-system", "[\"*.b.example.com\"]")));
        assertEquals(Map.of("*.b.example.com", "istio-system/shop:8080"),
                served(gateway("[\"*.b.example.com\"]") + vs("shop", "istio-system", "[\"*.example.com\"]")));
    }

    @Test
    void theDotNamespaceIsTheGatewaysOwn() {
        assertEquals(Map.of("a.example.com", "istio-system/shop:8080"),
                served(gateway("[./a.example.com]") + vs("shop", "istio-system", "[a.example.com]")));
        assertEquals(Map.of(), served(gateway("[./a.example.com]") + vs("shop", "demo", "[a.example.com]")));
    }

    @Test
    void aNamespacePartAdmitsOnlyThatNamespacesVirtualServices() {
        String config = gateway("[demo/a.example.com, \"*/b.example.com\"]")
                + vs("in-demo", "demo", "[a.example.com]") + vs("elsewhere", "istio-system", "[a.example.com, b.example.com]");
        assertEquals(Map.of("a.example.com", "demo/in-demo:8080", "b.example.com", "istio-system/elsewhere:8080"),
                served(config));
        assertEquals(List.of(), List.copyOf(served(gateway("[other/a.example.com]") + vs("x", "demo", "[a.example.com]"))
                .keySet()));
    }
}
