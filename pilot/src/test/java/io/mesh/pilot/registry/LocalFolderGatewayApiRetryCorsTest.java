package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode, over ADS to a router: an HTTPRoute rule's {@code retry} arrives as the route's retry policy and its CORS
 * filter as the route's CORS policy; an edit follows, and an invalid one is rejected naming the field while the last
 * good route stays.
 */
class LocalFolderGatewayApiRetryCorsTest {
    @TempDir
    Path dir;

    /** The HTTPRoute of LocalFolderGatewayApiTest's Gateway, its one rule with these extra lines. */
    static String route(String rule) {
        return """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web, namespace: demo}
                spec:
                  parentRefs: [{name: edge, namespace: istio-system}]
                  hostnames: [localhost]
                  rules:
                  - backendRefs: [{name: web, port: 80}]
                """ + rule.indent(4);
    }

    /** The router's route for "localhost" in the next RDS response. */
    static Route next(RawAdsClient router) throws Exception {
        RouteConfiguration rc = router.nextOf(Resources.V3.ROUTE_TYPE_URL, List.of("http.80")).getResources(0)
                .unpack(RouteConfiguration.class);
        return rc.getVirtualHostsList().stream().filter(v -> v.getDomainsList().contains("localhost")).findFirst()
                .orElseThrow(() -> new AssertionError(rc.toString())).getRoutes(0);
    }

    static RawAdsClient router(PilotHarness harness) {
        Struct labels = Struct.newBuilder().putFields("istio",
                Value.newBuilder().setStringValue("ingressgateway").build()).build();
        RawAdsClient router = new RawAdsClient(harness.pilot.xdsPort(),
                "router~127.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local", null);
        router.openSotwWithLabels(labels);
        router.request(Resources.V3.ROUTE_TYPE_URL, List.of("http.80"), "", "", null);
        return router;
    }

    @Test
    void retryReachesTheRouterAsItsRetryPolicyAndAnInvalidOneKeepsTheLastGood() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("ingress.yaml", LocalFolderGatewayApiTest.CONFIG);
            harness.write("route.yaml", route("retry: {attempts: 4, backoff: 50ms, codes: [502, 503]}"));
            await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().virtualServices().stream()
                    .anyMatch(vs -> vs.gatewaySemantics()));
            try (RawAdsClient router = router(harness)) {
                RetryPolicy p = next(router).getRoute().getRetryPolicy();
                assertEquals(4, p.getNumRetries().getValue());
                assertEquals("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
                        p.getRetryOn());
                assertEquals(List.of(502, 503), p.getRetriableStatusCodesList());
                assertEquals(50_000_000, p.getRetryBackOff().getBaseInterval().getNanos());

                harness.write("route.yaml", route("retry: {attempts: 0}"));
                await().atMost(Duration.ofSeconds(10)).until(() -> !next(router).getRoute().hasRetryPolicy());

                harness.write("route.yaml", route("retry: {attempts: 1, codes: [302]}"));
                await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.store().status().stream()
                        .anyMatch(s -> s.rejectedReason() != null && s.rejectedReason().contains(
                                "spec.rules[0].retry.codes[0]: must be between 400 and 599, got 302")));
                assertTrue(harness.pilot.snapshot().virtualServices().stream().anyMatch(vs -> vs.gatewaySemantics()
                        && vs.http().get(0).retries().attempts() == 0), "the last good one stays");
            }
        }
    }

    @Test
    void corsFilterReachesTheRouterAsItsCorsPolicyAndAnInvalidOneKeepsTheLastGood() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("ingress.yaml", LocalFolderGatewayApiTest.CONFIG);
            harness.write("route.yaml", route("filters:\n- type: CORS\n  cors: {allowOrigins: [\"https://app.example.com\"],"
                    + " allowMethods: [GET], maxAge: 60}"));
            await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().virtualServices().stream()
                    .anyMatch(vs -> vs.gatewaySemantics()));
            try (RawAdsClient router = router(harness)) {
                CorsPolicy p = cors(next(router));
                assertEquals("https://app.example.com", p.getAllowOriginStringMatch(0).getExact());
                assertEquals("GET", p.getAllowMethods());
                assertEquals("60", p.getMaxAge());

                harness.write("route.yaml", route("filters:\n- type: CORS\n  cors: {allowOrigins: [\"https://*.example.com\"]}"));
                await().atMost(Duration.ofSeconds(10)).until(() -> cors(next(router)).getAllowOriginStringMatch(0)
                        .hasSafeRegex());

                harness.write("route.yaml", route("filters:\n- type: CORS\n  cors: {allowOrigins: [app.example.com]}"));
                await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.store().status().stream()
                        .anyMatch(s -> s.rejectedReason() != null && s.rejectedReason().contains(
                                "spec.rules[0].filters[0].cors.allowOrigins[0]: must be \"*\" or an origin")));
                assertTrue(harness.pilot.snapshot().virtualServices().stream().anyMatch(vs -> vs.gatewaySemantics()
                        && vs.http().get(0).cors().allowOrigins().get(0).value().startsWith("https://")),
                        "the last good one stays");
            }
        }
    }

    static CorsPolicy cors(Route r) throws Exception {
        return r.getTypedPerFilterConfigOrThrow("envoy.filters.http.cors").unpack(CorsPolicy.class);
    }
}
