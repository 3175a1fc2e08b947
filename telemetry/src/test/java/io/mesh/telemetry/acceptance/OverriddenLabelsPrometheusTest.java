package io.mesh.telemetry.acceptance;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.ingest.OtlpGrpcReceiver;
import io.mesh.telemetry.metrics.Labels;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Acceptance: a real Prometheus server (Debian's {@code prometheus}, in the format it negotiates) scrapes a family
 * whose series carry different label sets under Telemetry overrides, keeps the target up, and PromQL selects by the
 * upserted label and by the absence of a removed one.
 */
@QuarkusTest
class OverriddenLabelsPrometheusTest {

    private static final String SERVICE = "prom-overrides.default.svc.cluster.local";

    @Inject
    OtlpGrpcReceiver grpc;

    private PrometheusServer prometheus;

    @AfterEach
    void stopPrometheus() throws InterruptedException {
        if (prometheus != null) {
            prometheus.close();
        }
    }

    /** Every standard label as the gateway sends them, {@code team} upserted unless null, {@code removed} left out. */
    private static Attributes proxyLabels(String team, String removed) {
        AttributesBuilder b = Attributes.builder();
        for (String name : Labels.HTTP) {
            if (!name.equals(removed)) {
                b.put(AttributeKey.stringKey(name), name.equals("destination_service") ? SERVICE : "unknown");
            }
        }
        if (team != null) {
            b.put(AttributeKey.stringKey("team"), team);
        }
        return b.build();
    }

    @Test
    void prometheusScrapesAFamilyMixingLabelSetsAndSelectsByTheUpsertedLabel() throws Exception {
        SdkMeterProvider provider = SdkMeterProvider.builder()
                .registerMetricReader(PeriodicMetricReader.builder(OtlpGrpcMetricExporter.builder()
                        .setEndpoint("http://127.0.0.1:" + grpc.port()).build()).setInterval(Duration.ofHours(1))
                        .build())
                .build();
        try {
            LongCounter requests = provider.get("io.mesh.gateway").counterBuilder("istio.requests").build();
            requests.add(5, proxyLabels("payments", null));
            requests.add(3, proxyLabels(null, null));
            requests.add(2, proxyLabels(null, "destination_principal"));
            assertTrue(provider.forceFlush().join(30, TimeUnit.SECONDS).isSuccess(), "metrics export failed");
        } finally {
            provider.shutdown().join(10, TimeUnit.SECONDS);
        }

        prometheus = PrometheusServer.scraping(RestAssured.port);
        String api = prometheus.api();
        String selector = "istio_requests_total{destination_service=\"" + SERVICE + "\"";
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            assertTrue(prometheus.alive(), prometheus::log);
            assertEquals(List.of("5"), values(api, selector + ",team=\"payments\"}"));
        });
        assertEquals(List.of("3"), values(api, selector + ",team=\"\",destination_principal=\"unknown\"}"));
        assertEquals(List.of("2"), values(api, selector + ",destination_principal=\"\"}"));
        JsonPath targets = given().get(api + "/api/v1/targets").then().statusCode(200).extract().jsonPath();
        assertEquals("up", targets.getString("data.activeTargets[0].health"), targets.prettify());
    }

    /** The values of an instant query, as Prometheus prints them. */
    private static List<String> values(String api, String query) {
        JsonPath result = given().queryParam("query", query).get(api + "/api/v1/query").then().statusCode(200)
                .extract().jsonPath();
        return result.getList("data.result.value").stream().map(v -> ((List<?>) v).get(1).toString()).toList();
    }
}
