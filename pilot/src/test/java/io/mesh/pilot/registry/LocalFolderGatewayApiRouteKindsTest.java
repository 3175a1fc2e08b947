package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode: a TCPRoute and a TLSRoute (v1alpha2) in the config folder reach the router over ADS on the Gateway's TCP
 * and TLS Passthrough listeners; an edit follows, and an invalid TCPRoute is rejected naming the field while its last
 * good version stays.
 */
class LocalFolderGatewayApiRouteKindsTest {
    @TempDir
    Path dir;

    static final String CONFIG = LocalFolderGatewayApiTest.CONFIG.replace(
            "  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}", """
              - {name: tcp, port: 9000, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}
              - {name: tls, port: 9443, protocol: TLS, tls: {mode: Passthrough}, allowedRoutes: {namespaces: {from: All}}}
            """.stripTrailing()) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: db, namespace: demo}
            spec:
              hosts: [db.demo.svc.cluster.local, db-v2.demo.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 5432, name: tcp, protocol: TCP}]
              resolution: STATIC
              endpoints: [{address: 127.0.0.1, ports: {tcp: 9432}}]
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TLSRoute
            metadata: {name: db, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              hostnames: [db.example.com]
              rules: [{backendRefs: [{name: db, port: 5432}]}]
            """;

    static String tcpRoute(String backend) {
        return """
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TCPRoute
                metadata: {name: db, namespace: demo}
                spec:
                  parentRefs: [{name: edge, namespace: istio-system, sectionName: tcp}]
                  rules: [{backendRefs: [%s]}]
                """.formatted(backend);
    }

    @Test
    void tcpAndTlsRoutesInTheFolderReachTheRouterAndAnInvalidEditKeepsTheLastGoodOne() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("ingress.yaml", CONFIG);
            harness.write("tcp.yaml", tcpRoute("{name: db, port: 5432}"));
            await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().virtualServices().stream()
                    .filter(vs -> vs.gatewaySemantics()).count() == 2);
            Struct labels = Struct.newBuilder().putFields("istio",
                    Value.newBuilder().setStringValue("ingressgateway").build()).build();
            try (RawAdsClient router = new RawAdsClient(harness.pilot.xdsPort(),
                    "router~127.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
                router.openSotwWithLabels(labels);
                router.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
                List<Listener> lds = listeners(router);
                Listener tls = named(lds, "0.0.0.0_9443");
                assertEquals(List.of("db.example.com"), tls.getFilterChains(0).getFilterChainMatch()
                        .getServerNamesList());
                assertEquals("outbound|5432||db.demo.svc.cluster.local", cluster(named(lds, "0.0.0.0_9000")));

                harness.write("tcp.yaml", tcpRoute("{name: db-v2, port: 5432}"));
                await().atMost(Duration.ofSeconds(10)).until(() -> "outbound|5432||db-v2.demo.svc.cluster.local"
                        .equals(cluster(named(listeners(router), "0.0.0.0_9000"))));

                harness.write("tcp.yaml", tcpRoute("{name: db}"));
                await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.store().status().stream()
                        .anyMatch(s -> s.rejectedReason() != null && s.rejectedReason().contains(
                                "spec.rules[0].backendRefs[0].port: is required when the backend is a Service")));
                assertTrue(harness.pilot.snapshot().virtualServices().stream().anyMatch(vs -> !vs.tcp().isEmpty()
                        && vs.tcp().get(0).route().get(0).destination().host().startsWith("db-v2.")),
                        "the last good one stays");
            }
        }
    }

    private static List<Listener> listeners(RawAdsClient router) throws Exception {
        List<Listener> out = new java.util.ArrayList<>();
        for (com.google.protobuf.Any a : router.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of()).getResourcesList()) {
            out.add(a.unpack(Listener.class));
        }
        return out;
    }

    private static Listener named(List<Listener> listeners, String name) {
        return listeners.stream().filter(l -> l.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in " + listeners));
    }

    /** The cluster of the listener's one filter chain's tcp_proxy. */
    private static String cluster(Listener l) throws Exception {
        return l.getFilterChains(0).getFilters(l.getFilterChains(0).getFiltersCount() - 1).getTypedConfig()
                .unpack(TcpProxy.class).getCluster();
    }
}
