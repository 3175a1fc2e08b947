package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode: Gateway API documents (v1beta1) in the config folder are no longer ignored. The Gateway's address names a
 * ServiceEntry whose workloadSelector selects the router; its HTTPRoute reaches the router over ADS, an edit follows,
 * and an invalid HTTPRoute is rejected naming the field while its last good version stays.
 */
class LocalFolderGatewayApiTest {
    @TempDir
    Path dir;

    /** The ingress gateway's Service in local mode: a ServiceEntry whose workloadSelector stands for its pod selector. */
    static final String INGRESS_ENTRY = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: istio-ingressgateway, namespace: istio-system}
            spec:
              hosts: [istio-ingressgateway.istio-system.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 80, name: http, protocol: HTTP}]
              resolution: STATIC
              workloadSelector: {labels: {istio: ingressgateway}}
            ---
            """;

    static final String CONFIG = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: web, namespace: demo}
            spec:
              hosts: [web.demo.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 80, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 127.0.0.1, ports: {http: 9081}}]
            ---
            """ + INGRESS_ENTRY + """
            apiVersion: gateway.networking.k8s.io/v1beta1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              addresses: [{type: Hostname, value: istio-ingressgateway}]
              listeners:
              - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
            """;

    static String route(String path) {
        return """
                apiVersion: gateway.networking.k8s.io/v1beta1
                kind: HTTPRoute
                metadata: {name: web, namespace: demo}
                spec:
                  parentRefs: [{name: edge, namespace: istio-system}]
                  hostnames: [localhost]
                  rules:
                  - matches: [{path: {type: PathPrefix, value: %s}}]
                    backendRefs: [{name: web, port: 80}]
                """.formatted(path);
    }

    @Test
    void gatewayApiDocumentsInTheFolderReachTheRouterAndAnInvalidEditKeepsTheLastGoodOne() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("ingress.yaml", CONFIG);
            harness.write("route.yaml", route("/shop"));
            await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().virtualServices().stream()
                    .anyMatch(vs -> vs.gatewaySemantics()));
            Struct labels = Struct.newBuilder().putFields("istio",
                    Value.newBuilder().setStringValue("ingressgateway").build()).build();
            try (RawAdsClient router = new RawAdsClient(harness.pilot.xdsPort(),
                    "router~127.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
                router.openSotwWithLabels(labels);
                router.request(Resources.V3.ROUTE_TYPE_URL, List.of("http.80"), "", "", null);
                assertEquals("/shop", prefix(router));

                harness.write("route.yaml", route("/store"));
                await().atMost(Duration.ofSeconds(10)).until(() -> "/store".equals(prefix(router)));

                harness.write("route.yaml", route("store"));
                await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.store().status().stream()
                        .anyMatch(s -> s.rejectedReason() != null && s.rejectedReason().contains(
                                "spec.rules[0].matches[0].path.value: must be an absolute path")));
                assertTrue(harness.pilot.snapshot().virtualServices().stream().anyMatch(vs -> vs.gatewaySemantics()
                        && vs.http().get(0).match().get(0).uri().value().equals("/store")), "the last good one stays");
            }
        }
    }

    /** The path prefix of the first route of the virtual host "localhost" in the next RDS response. */
    private static String prefix(RawAdsClient router) throws Exception {
        RouteConfiguration rc = router.nextOf(Resources.V3.ROUTE_TYPE_URL, List.of("http.80")).getResources(0)
                .unpack(RouteConfiguration.class);
        VirtualHost vh = rc.getVirtualHostsList().stream().filter(v -> v.getDomainsList().contains("localhost"))
                .findFirst().orElseThrow(() -> new AssertionError(rc.toString()));
        return vh.getRoutes(0).getMatch().getPathSeparatedPrefix();
    }
}
