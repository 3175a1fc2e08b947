package io.mesh.telemetry.acceptance;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.IstioPromtool;
import io.mesh.telemetry.ingest.OtlpGrpcReceiver;
import io.mesh.telemetry.ingest.OtlpHttpReceiver;
import io.mesh.telemetry.metrics.Labels;
import io.mesh.testing.Promtool;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.AggregationTemporalitySelector;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Acceptance: the real OpenTelemetry SDK exporter sends Istio's metrics the way the gateway's OtlpReporter does under a
 * Telemetry's metric overrides (instrumentation scope {@code io.mesh.gateway}, every standard label on each point, an
 * upserted one added, a removed one left out), and /q/metrics serves those label sets, one family mixing them, valid
 * for promtool; the bounds on extra labels hold and count what they refuse.
 */
@QuarkusTest
class OverriddenLabelsSdkTest {

    private static final String SERVICE = "overrides.default.svc.cluster.local";

    @Inject
    OtlpGrpcReceiver grpc;
    @Inject
    OtlpHttpReceiver http;

    /** The gateway's attributes of an inbound request, every standard label set, changed by {@code change}. */
    private static Attributes proxyLabels(Consumer<Map<String, String>> change) {
        Map<String, String> labels = new LinkedHashMap<>();
        for (String name : Labels.HTTP) {
            labels.put(name, "unknown");
        }
        labels.putAll(Map.of("reporter", "destination", "source_workload", "web",
                "source_workload_namespace", "default", "destination_workload", "overrides-v1",
                "destination_workload_namespace", "default", "destination_service", SERVICE,
                "request_protocol", "http", "response_code", "200", "grpc_response_status", "",
                "response_flags", "-"));
        change.accept(labels);
        AttributesBuilder b = Attributes.builder();
        labels.forEach((k, v) -> b.put(AttributeKey.stringKey(k), v));
        return b.build();
    }

    private static void export(MetricExporter exporter, Consumer<SdkMeterProvider> record) {
        SdkMeterProvider provider = SdkMeterProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(
                        AttributeKey.stringKey("service.name"), "gateway"))))
                .registerMetricReader(PeriodicMetricReader.builder(exporter).setInterval(Duration.ofHours(1)).build())
                .build();
        try {
            record.accept(provider);
            assertTrue(provider.forceFlush().join(30, TimeUnit.SECONDS).isSuccess(), "metrics export failed");
        } finally {
            provider.shutdown().join(10, TimeUnit.SECONDS);
        }
    }

    private static String scrape() {
        return given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics").then().statusCode(200).extract().asString();
    }

    private static List<String> lines(String metrics, String prefix) {
        return metrics.lines().filter(l -> l.startsWith(prefix) && l.contains("destination_service=\"" + SERVICE + "\""))
                .toList();
    }

    @Test
    void anUpsertedLabelIsServedOnItsSeriesARemovedOneIsNotAndTheMixedFamilyPassesPromtool() {
        Attributes withTeam = proxyLabels(l -> l.put("team", "payments"));
        Attributes plain = proxyLabels(l -> { });
        Attributes withoutPrincipal = proxyLabels(l -> l.remove("destination_principal"));
        export(OtlpGrpcMetricExporter.builder().setEndpoint("http://127.0.0.1:" + grpc.port()).build(), provider -> {
            LongCounter requests = provider.get("io.mesh.gateway").counterBuilder("istio.requests").build();
            DoubleHistogram durations = provider.get("io.mesh.gateway").histogramBuilder("istio.request.duration")
                    .setUnit("ms").build();
            requests.add(2, withTeam);
            requests.add(1, plain);
            requests.add(1, withoutPrincipal);
            durations.record(7, withTeam);
            durations.record(70, plain);
        });

        await().atMost(Duration.ofSeconds(30)).until(() -> lines(scrape(), "istio_requests_total{").size() == 3);
        String metrics = scrape();
        List<String> requests = lines(metrics, "istio_requests_total{");
        assertTrue(requests.stream().anyMatch(l -> l.contains(",team=\"payments\",} ")
                && l.contains("destination_principal=\"unknown\"") && l.endsWith(" 2.0")), metrics);
        assertTrue(requests.stream().anyMatch(l -> !l.contains("team=")
                && l.contains("destination_principal=\"unknown\"") && l.endsWith(" 1.0")), metrics);
        assertTrue(requests.stream().anyMatch(l -> !l.contains("team=")
                && !l.contains("destination_principal=") && l.contains("source_workload=\"web\"")
                && l.endsWith(" 1.0")), metrics);
        List<String> buckets = lines(metrics, "istio_request_duration_milliseconds_bucket{");
        assertTrue(buckets.stream().anyMatch(l -> l.contains(",team=\"payments\",le=\"10.0\",} 1.0")), metrics);
        assertTrue(buckets.stream().anyMatch(l -> !l.contains("team=") && l.contains("le=\"10.0\",} 0.0")), metrics);
        IstioPromtool.assertValidMetrics(metrics);

        // The graph (and meshctl apps, which reads it) counts all three series on the same edges.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().get("/api/graph").then().statusCode(200)
                .body("edges.find { it.source == 'workload:default/web' && it.target == 'service:" + SERVICE
                        + "' }.requests", equalTo(4.0f))
                .body("edges.find { it.source == 'service:" + SERVICE
                        + "' && it.target == 'workload:default/overrides-v1' }.requests", equalTo(4.0f)));
    }

    @Test
    void extraLabelNamesPastTheFamilysCapAndOverlongValuesAreRefusedAndCounted() {
        double refusedBefore = refusedPoints(scrape());
        String otlpHttp = "http://127.0.0.1:" + http.port() + "/v1/metrics";
        // Delta: the SDK sends each point once (cumulative points are sent again at shutdown, and refused again).
        Supplier<MetricExporter> exporter = () -> OtlpHttpMetricExporter.builder().setEndpoint(otlpHttp)
                .setAggregationTemporalitySelector(AggregationTemporalitySelector.deltaPreferred()).build();
        // Eight extra names are admitted for the family (the default cap), one export each, in this order.
        for (int i = 0; i < 8; i++) {
            String name = "tag" + i;
            export(exporter.get(), provider -> provider
                    .get("proxy").counterBuilder("istio.tcp.connections_closed").build()
                    .add(1, Attributes.of(AttributeKey.stringKey("destination_service"), SERVICE,
                            AttributeKey.stringKey(name), "v")));
        }
        export(exporter.get(), provider -> {
            LongCounter closed = provider.get("proxy").counterBuilder("istio.tcp.connections_closed").build();
            closed.add(1, Attributes.of(AttributeKey.stringKey("destination_service"), SERVICE,
                    AttributeKey.stringKey("tag8"), "v"));
            closed.add(1, Attributes.of(AttributeKey.stringKey("destination_service"), SERVICE,
                    AttributeKey.stringKey("tag0"), "x".repeat(129)));
            closed.add(5, Attributes.of(AttributeKey.stringKey("destination_service"), SERVICE,
                    AttributeKey.stringKey("tag0"), "v"));
        });

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            String now = scrape();
            assertEquals(refusedBefore + 2, refusedPoints(now), () -> String.join("\n", lines(now, "istio_tcp_")));
        });
        String metrics = scrape();
        List<String> closed = lines(metrics, "istio_tcp_connections_closed_total{");
        assertEquals(8, closed.size(), metrics);
        assertTrue(closed.stream().anyMatch(l -> l.contains(",tag0=\"v\",} ") && l.endsWith(" 6.0")), metrics);
        assertTrue(closed.stream().noneMatch(l -> l.contains("tag8=")), metrics);
        IstioPromtool.assertValidMetrics(metrics);
    }

    private static double refusedPoints(String metrics) {
        return metrics.lines().filter(l -> l.startsWith("telemetry_otlp_metric_points_total{")
                && l.contains("outcome=\"refused\"")).mapToDouble(l -> Double.parseDouble(l.substring(
                        l.lastIndexOf(' ') + 1))).sum();
    }
}
