package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode: a Gateway API Gateway and HTTPRoute (v1) applied by the real kubectl to the mock API server
 * reach a router proxy over ADS as the listener and routes istiod would serve; the Gateway is served by the pods of the
 * Service its address names (their labels are the Service's selector). The Gateway API's CRDs are installed after pilot
 * starts, as on a cluster that gets them later; pilot writes their status as istiod does; a deleted HTTPRoute leaves
 * the routes. (v1beta1 objects are the
 * same objects at v1 on a real API server; the mock API server did not deliver a v1beta1 HTTPRoute to the v1 watch of a
 * CRD applied at run time, so v1beta1 is covered by istio-config's GatewayApiValidationTest and the local folder test.)
 */
class KubernetesGatewayApiTest {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    /** The istio-system Namespace and the ingress gateway's Service (its pods are the routers of Gateways that name it). */
    static final String INGRESS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: istio-system}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: istio-ingressgateway, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              ports: [{name: http, port: 80, targetPort: 8080}]
            ---
            """;

    /** The Services {@code web} and {@code web-v2} in {@code demo}, port 80 (http). */
    static final String DEMO_SERVICES = """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: demo}
            spec:
              selector: {app: web}
              ports: [{name: http, port: 80, targetPort: 8081}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-v2, namespace: demo}
            spec:
              selector: {app: web-v2}
              ports: [{name: http, port: 80, targetPort: 8081}]
            ---
            """;

    static final String CONFIG = INGRESS + DEMO_SERVICES + """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
              listeners:
              - name: http
                port: 8080
                protocol: HTTP
                allowedRoutes: {namespaces: {from: All}}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: http}]
              hostnames: [web.example.com]
              rules:
              - matches: [{path: {type: PathPrefix, value: /v2}}]
                backendRefs: [{name: web-v2, port: 80}]
              - backendRefs:
                - {name: web, port: 80, weight: 3}
                - {name: web-v2, port: 80, weight: 1}
                timeouts: {request: 5s}
            """;

    @Test
    void gatewayAndHttpRouteAppliedWithKubectlAreServedToTheRouterTheGatewaysServiceSelects() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r);
        k8s.kubectl(CONFIG, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .anyMatch(vs -> vs.gatewaySemantics() && vs.hosts().equals(List.of("web.example.com"))));
        assertEquals(Map.of("istio", "ingressgateway"), k8s.harness.pilot.snapshot().gateways().get(0).selector());

        Struct labels = Struct.newBuilder().putFields("istio",
                Value.newBuilder().setStringValue("ingressgateway").build()).build();
        try (RawAdsClient router = new RawAdsClient(k8s.harness.pilot.xdsPort(),
                "router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
            router.openSotwWithLabels(labels);
            router.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            DiscoveryResponse lds = router.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of());
            assertEquals(List.of("0.0.0.0_8080"), names(lds));

            router.request(Resources.V3.ROUTE_TYPE_URL, List.of("http.8080"), "", "", null);
            RouteConfiguration rc = router.nextOf(Resources.V3.ROUTE_TYPE_URL, List.of("http.8080")).getResources(0)
                    .unpack(RouteConfiguration.class);
            VirtualHost vh = rc.getVirtualHostsList().stream().filter(v -> v.getDomainsList()
                    .contains("web.example.com")).findFirst().orElseThrow(() -> new AssertionError(rc.toString()));
            List<Route> routes = vh.getRoutesList();
            assertEquals("/v2", routes.get(0).getMatch().getPathSeparatedPrefix());
            assertEquals("outbound|80||web-v2.demo.svc.cluster.local", routes.get(0).getRoute().getCluster());
            assertEquals(List.of(3, 1), routes.get(1).getRoute().getWeightedClusters().getClustersList().stream()
                    .map(c -> c.getWeight().getValue()).toList());
            assertEquals(5, routes.get(1).getRoute().getTimeout().getSeconds());
        }

        // The status istiod writes: the Gateway programmed, its listener with the route attached, the route accepted.
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("gateways.gateway.networking.k8s.io", "istio-system",
                "edge", "{.status.conditions[*].reason} {.status.listeners[0].attachedRoutes}")
                .equals("Accepted Programmed 1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("httproutes.gateway.networking.k8s.io", "demo",
                "web", "{.status.parents[0].controllerName} {.status.parents[0].conditions[*].status}")
                .equals("istio.io/gateway-controller True True"));
        // A backend that is not a Service: the route is accepted, its references are not resolved (as istiod says).
        k8s.kubectl("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: broken, namespace: demo}
                spec:
                  parentRefs: [{name: edge, namespace: istio-system}]
                  hostnames: [broken.example.com]
                  rules: [{backendRefs: [{name: nope, port: 80}]}]
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("httproutes.gateway.networking.k8s.io", "demo",
                "broken", "{.status.parents[0].conditions[*].reason} {.status.parents[0].conditions[1].status}")
                .equals("Accepted BackendNotFound False"));
        // Another controller's parent (the route attached to a Gateway of another implementation too): pilot's next
        // write, once the backend exists, keeps it.
        k8s.kubectl(null, "patch", "httproutes.gateway.networking.k8s.io", "broken", "-n", "demo",
                "--subresource=status", "--type=merge", "-p", """
                        {"status": {"parents": [{"parentRef": {"name": "other-edge", "namespace": "demo"},
                         "controllerName": "example.com/other", "conditions": [{"type": "Accepted",
                         "status": "True", "reason": "Accepted", "message": "",
                         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}]}}""");
        k8s.kubectl(DEMO_SERVICES.replace("web-v2", "nope"), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("httproutes.gateway.networking.k8s.io", "demo",
                "broken", "{.status.parents[*].controllerName}")
                .equals("example.com/other istio.io/gateway-controller"));
        assertEquals("other-edge Accepted; edge Accepted ResolvedRefs;", jsonpath("httproutes.gateway.networking.k8s.io",
                "demo", "broken", "{range .status.parents[*]}{.parentRef.name} {.conditions[*].reason}; {end}"));
        k8s.kubectl(null, "delete", "httproute", "-n", "demo", "broken");

        k8s.kubectl(null, "delete", "httproute", "-n", "demo", "web");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .noneMatch(vs -> vs.gatewaySemantics()));
        assertTrue(k8s.harness.pilot.snapshot().gateways().size() == 1, "the Gateway stays");
    }

    private String jsonpath(String resource, String namespace, String name, String path) {
        return k8s.kubectl(null, "get", resource, name, "-n", namespace, "-o", "jsonpath=" + path).strip();
    }

    private static List<String> names(DiscoveryResponse lds) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        for (com.google.protobuf.Any a : lds.getResourcesList()) {
            out.add(a.unpack(Listener.class).getName());
        }
        return out;
    }
}
