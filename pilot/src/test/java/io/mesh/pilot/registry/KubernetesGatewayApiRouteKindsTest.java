package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode: a Gateway API Gateway with HTTP, TLS (Passthrough) and TCP listeners, a GRPCRoute (v1), a TLSRoute
 * and a TCPRoute (v1alpha2) applied by the real kubectl to the mock API server reach a router proxy over ADS as the
 * listeners and routes istiod would serve; pilot writes each listener's supportedKinds and attachedRoutes and each
 * route's parent status; a deleted TLSRoute takes its routes with it.
 */
class KubernetesGatewayApiRouteKindsTest {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    static final String CONFIG = KubernetesGatewayApiTest.INGRESS + """
            apiVersion: v1
            kind: Service
            metadata: {name: greeter, namespace: demo}
            spec:
              selector: {app: greeter}
              ports: [{name: grpc, port: 9000, targetPort: 9000}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: db, namespace: demo}
            spec:
              selector: {app: db}
              ports: [{name: tcp, port: 5432, targetPort: 5432}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
              listeners:
              - {name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
              - name: tls
                port: 9443
                protocol: TLS
                hostname: db.example.com
                tls: {mode: Passthrough}
                allowedRoutes: {namespaces: {from: All}}
              - {name: tcp, port: 9000, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: GRPCRoute
            metadata: {name: greeter, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              hostnames: [grpc.example.com]
              rules:
              - matches: [{method: {service: helloworld.Greeter, method: SayHello}}]
                backendRefs: [{name: greeter, port: 9000}]
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
            metadata: {name: db, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: tcp}]
              rules: [{backendRefs: [{name: db, port: 5432}]}]
            """;

    @Test
    void grpcTlsAndTcpRoutesAppliedWithKubectlAreServedToTheRouterWithTheirStatus() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r);
        k8s.kubectl(CONFIG, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .filter(vs -> vs.gatewaySemantics()).count() == 3);

        Struct labels = Struct.newBuilder().putFields("istio",
                Value.newBuilder().setStringValue("ingressgateway").build()).build();
        try (RawAdsClient router = new RawAdsClient(k8s.harness.pilot.xdsPort(),
                "router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
            router.openSotwWithLabels(labels);
            router.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            List<Listener> lds = listeners(router.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of()));
            assertEquals(List.of("0.0.0.0_8080", "0.0.0.0_9000", "0.0.0.0_9443"), lds.stream().map(Listener::getName)
                    .sorted().toList());
            Listener tls = lds.stream().filter(l -> l.getName().equals("0.0.0.0_9443")).findFirst().orElseThrow();
            assertEquals(List.of("db.example.com"), tls.getFilterChains(0).getFilterChainMatch().getServerNamesList());
            assertEquals("outbound|5432||db.demo.svc.cluster.local", tls.getFilterChains(0).getFilters(
                    tls.getFilterChains(0).getFiltersCount() - 1).getTypedConfig().unpack(
                            io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class).getCluster());

            router.request(Resources.V3.ROUTE_TYPE_URL, List.of("http.8080"), "", "", null);
            RouteConfiguration rc = router.nextOf(Resources.V3.ROUTE_TYPE_URL, List.of("http.8080")).getResources(0)
                    .unpack(RouteConfiguration.class);
            VirtualHost vh = rc.getVirtualHostsList().stream().filter(v -> v.getDomainsList()
                    .contains("grpc.example.com")).findFirst().orElseThrow(() -> new AssertionError(rc.toString()));
            assertEquals("/helloworld.Greeter/SayHello", vh.getRoutes(0).getMatch().getPath());
            assertEquals("outbound|9000||greeter.demo.svc.cluster.local", vh.getRoutes(0).getRoute().getCluster());
        }

        // The status istiod writes: each listener's route kinds and attached routes; each route accepted.
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("gateways.gateway.networking.k8s.io",
                "istio-system", "edge", "{.status.listeners[*].supportedKinds[*].kind} {.status.listeners[*].attachedRoutes}")
                .equals("HTTPRoute GRPCRoute TLSRoute TCPRoute 1 1 1"));
        for (String kind : List.of("grpcroutes/greeter", "tlsroutes/db", "tcproutes/db")) {
            String resource = kind.substring(0, kind.indexOf('/')) + ".gateway.networking.k8s.io";
            await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath(resource, "demo", kind.substring(kind.indexOf('/')
                    + 1), "{.status.parents[0].controllerName} {.status.parents[0].conditions[*].status}")
                    .equals("istio.io/gateway-controller True True"));
        }

        k8s.kubectl(null, "delete", "tlsroute", "-n", "demo", "db");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .noneMatch(vs -> !vs.tls().isEmpty()));
        assertEquals(2, k8s.harness.pilot.snapshot().virtualServices().stream().filter(vs -> vs.gatewaySemantics())
                .count(), "the GRPCRoute's and TCPRoute's stay");
    }

    private String jsonpath(String resource, String namespace, String name, String path) {
        return k8s.kubectl(null, "get", resource, name, "-n", namespace, "-o", "jsonpath=" + path).strip();
    }

    private static List<Listener> listeners(DiscoveryResponse lds) throws Exception {
        List<Listener> out = new java.util.ArrayList<>();
        for (com.google.protobuf.Any a : lds.getResourcesList()) {
            out.add(a.unpack(Listener.class));
        }
        return out;
    }
}
