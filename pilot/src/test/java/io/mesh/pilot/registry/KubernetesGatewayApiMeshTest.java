package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode, GAMMA: an HTTPRoute applied by the real kubectl whose parent is a Service (no Gateway at all)
 * reaches a sidecar over ADS as the routes of that Service's host, and pilot writes its parent status as istiod does
 * for a Service parent (controllerName istio.io/gateway-controller; a Service that does not exist: NoMatchingParent).
 */
class KubernetesGatewayApiMeshTest {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    static final String CONFIG = KubernetesGatewayApiTest.DEMO_SERVICES + """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web-split, namespace: demo}
            spec:
              parentRefs: [{group: "", kind: Service, name: web, port: 80}]
              rules:
              - matches: [{headers: [{name: x-canary, value: "1"}]}]
                backendRefs: [{name: web-v2, port: 80}]
              - backendRefs: [{name: web, port: 80}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: orphan, namespace: demo}
            spec:
              parentRefs: [{group: "", kind: Service, name: nope}]
              rules: [{backendRefs: [{name: web, port: 80}]}]
            """;

    @Test
    void httpRouteOfAServiceReachesTheSidecarAndGetsIstiodsParentStatus() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r);
        k8s.kubectl(CONFIG, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .anyMatch(vs -> vs.gatewaySemantics() && vs.gateways().equals(List.of("mesh"))));

        try (RawAdsClient sidecar = RawAdsClient.sidecar(k8s.harness.pilot.xdsPort(), "10.1.0.9", "client-1", "demo")) {
            sidecar.request(Resources.V3.ROUTE_TYPE_URL, List.of("80"), "", "", null);
            RouteConfiguration rc = sidecar.nextOf(Resources.V3.ROUTE_TYPE_URL, List.of("80")).getResources(0)
                    .unpack(RouteConfiguration.class);
            VirtualHost vh = rc.getVirtualHostsList().stream().filter(v -> v.getDomainsList()
                    .contains("web.demo.svc.cluster.local")).findFirst()
                    .orElseThrow(() -> new AssertionError(rc.toString()));
            List<Route> routes = vh.getRoutesList();
            assertEquals("x-canary", routes.get(0).getMatch().getHeaders(0).getName());
            assertEquals("outbound|80||web-v2.demo.svc.cluster.local", routes.get(0).getRoute().getCluster());
            assertEquals("outbound|80||web.demo.svc.cluster.local", routes.get(1).getRoute().getCluster());
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("web-split",
                "{.status.parents[0].controllerName} {.status.parents[0].parentRef.kind}"
                        + " {.status.parents[0].parentRef.port} {.status.parents[0].conditions[*].status}")
                .equals("istio.io/gateway-controller Service 80 True True"));
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("orphan",
                "{.status.parents[0].conditions[0].status} {.status.parents[0].conditions[0].reason}")
                .equals("False NoMatchingParent"));

        k8s.kubectl(null, "delete", "httproute", "-n", "demo", "web-split");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .noneMatch(vs -> vs.gatewaySemantics()));
    }

    private String jsonpath(String name, String path) {
        return k8s.kubectl(null, "get", "httproutes.gateway.networking.k8s.io", name, "-n", "demo", "-o",
                "jsonpath=" + path).strip();
    }
}
