package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A Gateway server's {@code bind}, as istiod builds it (pilot/pkg/networking/core/gateway.go, model/gateway.go): the
 * servers of one port are merged per bind, each bind is a listener of its own named {@code BIND_PORT} and bound to
 * that address (servers without a bind keep {@code 0.0.0.0_PORT}), and the HTTP servers of a bind route with their
 * own table, {@code http.PORT.BIND}, so the same port routes apart on each address.
 */
class GatewayServerBindTest {

    static final String CONFIG = SidecarFixtures.services("a", "demo", "[a.demo.svc.cluster.local]", SidecarFixtures.HTTP_80,
            "{address: 10.0.0.1, ports: {http: 8081}}")
            + SidecarFixtures.services("b", "demo", "[b.demo.svc.cluster.local]", SidecarFixtures.HTTP_80,
                    "{address: 10.0.0.2, ports: {http: 8081}}")
            + SidecarFixtures.services("db", "demo", "[db.demo.svc.cluster.local]",
                    "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.0.3, ports: {tcp: 5432}}") + """
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: public, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 8080, name: http-a, protocol: HTTP}
                bind: 127.0.0.1
                hosts: [a.example.com]
              - port: {number: 8080, name: http-b, protocol: HTTP}
                bind: 127.0.0.2
                hosts: [b.example.com]
              - port: {number: 8080, name: http-b2, protocol: HTTP}
                bind: 127.0.0.2
                hosts: [b2.example.com]
              - port: {number: 8080, name: http, protocol: HTTP}
                hosts: [a.example.com, b.example.com]
              - port: {number: 31400, name: tcp-internal, protocol: TCP}
                bind: 10.0.0.5
                hosts: ["*"]
              - port: {number: 31400, name: tcp, protocol: TCP}
                hosts: ["*"]
              - port: {number: 9000, name: http-9000, protocol: HTTP}
                hosts: [a.example.com]
              - port: {number: 9000, name: tcp-9000, protocol: TCP}
                bind: 127.0.0.1
                hosts: ["*"]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: a, namespace: demo}
            spec:
              hosts: [a.example.com]
              gateways: [istio-system/public]
              http:
              - route: [{destination: {host: a.demo.svc.cluster.local}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: b, namespace: demo}
            spec:
              hosts: [b.example.com, b2.example.com]
              gateways: [istio-system/public]
              http:
              - route: [{destination: {host: b.demo.svc.cluster.local}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: db, namespace: demo}
            spec:
              hosts: ["*"]
              gateways: [istio-system/public]
              tcp:
              - route: [{destination: {host: db.demo.svc.cluster.local, port: {number: 5432}}}]
            """;

    /** Each listener by name: its address and, per filter chain, the RDS name (HTTP) or "tcp". */
    static Map<String, String> listeners(MeshSnapshot snapshot) {
        Map<String, String> out = new TreeMap<>();
        for (var r : XdsGenerators.generate(Resources.V3.LISTENER_TYPE_URL, router(), snapshot, Set.of())) {
            Listener l = (Listener) r;
            var sa = l.getAddress().getSocketAddress();
            StringBuilder chains = new StringBuilder();
            for (var chain : l.getFilterChainsList()) {
                Filter last = chain.getFilters(chain.getFiltersCount() - 1);
                chains.append(' ').append(last.getName().equals("envoy.filters.network.http_connection_manager")
                        ? unpack(last.getTypedConfig(), HttpConnectionManager.class).getRds().getRouteConfigName() : "tcp");
            }
            out.put(l.getName(), sa.getAddress() + ":" + sa.getPortValue() + chains);
        }
        return out;
    }

    /** A route table's domains (without the ":PORT" forms). */
    static List<String> domains(MeshSnapshot snapshot, String name) {
        return routes(router(), snapshot, name).getVirtualHostsList().stream().map(VirtualHost::getDomainsList)
                .flatMap(List::stream).filter(d -> !d.contains(":")).sorted().toList();
    }

    @Test
    void serversOnOnePortWithDifferentBindsAreListenersOfTheirOwnBoundToTheirAddress() {
        assertEquals(Map.of(
                "0.0.0.0_8080", "0.0.0.0:8080 http.8080",
                "127.0.0.1_8080", "127.0.0.1:8080 http.8080.127.0.0.1",
                "127.0.0.2_8080", "127.0.0.2:8080 http.8080.127.0.0.2",
                "0.0.0.0_31400", "0.0.0.0:31400 tcp",
                "10.0.0.5_31400", "10.0.0.5:31400 tcp",
                // one protocol per listener, not per port: HTTP on every address and TCP on 127.0.0.1 share 9000
                "0.0.0.0_9000", "0.0.0.0:9000 http.9000",
                "127.0.0.1_9000", "127.0.0.1:9000 tcp"), listeners(snapshot(CONFIG)));
    }

    @Test
    void eachBindRoutesOnlyTheHostsOfItsOwnServers() {
        MeshSnapshot s = snapshot(CONFIG);
        assertEquals(List.of("a.example.com"), domains(s, "http.8080.127.0.0.1"));
        assertEquals(List.of("b.example.com", "b2.example.com"), domains(s, "http.8080.127.0.0.2"));
        assertEquals(List.of("a.example.com", "b.example.com"), domains(s, "http.8080"));
    }

    @Test
    void aRouteTableForABindNoServerHasIsEmpty() {
        assertEquals(List.of(), domains(snapshot(CONFIG), "http.8080.127.0.0.9"));
    }

    @Test
    void aBindOfEveryAddressIsTheSameListenerAsNoBind() {
        String config = SidecarFixtures.PUBLIC_GATEWAY.replace("hosts: [\"*\"]", "hosts: [\"*\"]\n    bind: 0.0.0.0")
                + SidecarFixtures.services("a", "demo", "[a.demo.svc.cluster.local]", SidecarFixtures.HTTP_80,
                        "{address: 10.0.0.1, ports: {http: 8081}}");
        assertEquals(Map.of("0.0.0.0_8080", "0.0.0.0:8080 http.8080"), listeners(snapshot(config)));
    }
}
