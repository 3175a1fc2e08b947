package io.mesh.telemetry.acceptance;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.ingest.OtlpGrpcReceiver;
import io.mesh.telemetry.ingest.OtlpHttpReceiver;
import io.mesh.telemetry.IstioPromtool;
import io.mesh.testing.Promtool;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Acceptance: the real OpenTelemetry Java SDK exporters, over OTLP/gRPC and OTLP/HTTP, send spans and metrics;
 * the query API returns the spans and Istio's series appear on /q/metrics.
 */
@QuarkusTest
class OtelSdkExportTest {

    @Inject
    OtlpGrpcReceiver grpc;
    @Inject
    OtlpHttpReceiver http;

    @Test
    void sdkExportsOverGrpcReachTheStoreAndIstioSeries() {
        String endpoint = "http://127.0.0.1:" + grpc.port();
        roundTrip("sdk-grpc", OtlpGrpcSpanExporter.builder().setEndpoint(endpoint).build(),
                OtlpGrpcMetricExporter.builder().setEndpoint(endpoint).build());
    }

    @Test
    void sdkExportsOverHttpReachTheStoreAndIstioSeries() {
        String endpoint = "http://127.0.0.1:" + http.port();
        roundTrip("sdk-http", OtlpHttpSpanExporter.builder().setEndpoint(endpoint + "/v1/traces").build(),
                OtlpHttpMetricExporter.builder().setEndpoint(endpoint + "/v1/metrics").build());
    }

    @Test
    void callsBetweenServicesInSdkSpansAppearInTheGraph() {
        String endpoint = "http://127.0.0.1:" + grpc.port();
        SdkTracerProvider frontend = tracerProvider("sdk-frontend", endpoint);
        SdkTracerProvider backend = tracerProvider("sdk-backend", endpoint);
        try {
            for (int i = 0; i < 4; i++) {
                Span client = frontend.get("acceptance").spanBuilder("GET /api").setSpanKind(SpanKind.CLIENT)
                        .startSpan();
                // The backend continues the frontend's trace, as W3C trace context propagation would make it.
                Span server = backend.get("acceptance").spanBuilder("/api").setSpanKind(SpanKind.SERVER)
                        .setParent(io.opentelemetry.context.Context.root().with(client)).startSpan();
                if (i == 0) {
                    server.setStatus(StatusCode.ERROR);
                }
                server.end();
                client.end();
            }
            assertTrue(frontend.forceFlush().join(30, TimeUnit.SECONDS).isSuccess());
            assertTrue(backend.forceFlush().join(30, TimeUnit.SECONDS).isSuccess());
        } finally {
            frontend.shutdown().join(10, TimeUnit.SECONDS);
            backend.shutdown().join(10, TimeUnit.SECONDS);
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().get("/api/graph").then().statusCode(200)
                .body("edges.find { it.source == 'app:sdk-frontend' && it.target == 'app:sdk-backend' }.origin",
                        equalTo("traces"))
                .body("edges.find { it.source == 'app:sdk-frontend' && it.target == 'app:sdk-backend' }.requests",
                        equalTo(4.0f))
                .body("edges.find { it.source == 'app:sdk-frontend' && it.target == 'app:sdk-backend' }.errorRate",
                        equalTo(0.25f)));
    }

    private static SdkTracerProvider tracerProvider(String service, String endpoint) {
        return SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(
                        AttributeKey.stringKey("service.name"), service))))
                .addSpanProcessor(SimpleSpanProcessor.create(OtlpGrpcSpanExporter.builder().setEndpoint(endpoint)
                        .build()))
                .build();
    }

    private void roundTrip(String service, SpanExporter spanExporter, MetricExporter metricExporter) {
        Resource resource = Resource.getDefault().merge(Resource.create(Attributes.of(
                AttributeKey.stringKey("service.name"), service,
                AttributeKey.stringKey("reporter"), "destination",
                AttributeKey.stringKey("destination_workload"), service + "-v1",
                AttributeKey.stringKey("destination_workload_namespace"), "default")));
        SdkTracerProvider tracerProvider = SdkTracerProvider.builder().setResource(resource)
                .addSpanProcessor(SimpleSpanProcessor.create(spanExporter)).build();
        SdkMeterProvider meterProvider = SdkMeterProvider.builder().setResource(resource)
                .registerMetricReader(PeriodicMetricReader.builder(metricExporter).setInterval(Duration.ofHours(1))
                        .build())
                .build();
        String traceId;
        try {
            Tracer tracer = tracerProvider.get("acceptance");
            Span parent = tracer.spanBuilder("GET /checkout").setSpanKind(SpanKind.SERVER).startSpan();
            try (Scope ignored = parent.makeCurrent()) {
                tracer.spanBuilder("SELECT orders").setSpanKind(SpanKind.CLIENT).startSpan()
                        .setStatus(StatusCode.ERROR, "deadlock").end();
            } finally {
                parent.end();
            }
            traceId = parent.getSpanContext().getTraceId();

            Attributes labels = Attributes.of(AttributeKey.stringKey("source_workload"), "frontend",
                    AttributeKey.stringKey("destination_service"), service + ".default.svc.cluster.local",
                    AttributeKey.stringKey("response_code"), "200");
            LongCounter requests = meterProvider.get("proxy").counterBuilder("istio.requests").build();
            DoubleHistogram durations = meterProvider.get("proxy").histogramBuilder("istio.request.duration")
                    .setUnit("ms").build();
            requests.add(3, labels);
            durations.record(7, labels);
            durations.record(70, labels);
            durations.record(700, labels);
            assertTrue(meterProvider.forceFlush().join(30, TimeUnit.SECONDS).isSuccess(), "metrics export failed");
            assertTrue(tracerProvider.forceFlush().join(30, TimeUnit.SECONDS).isSuccess(), "span export failed");
        } finally {
            CompletableResultCode t = tracerProvider.shutdown();
            CompletableResultCode m = meterProvider.shutdown();
            t.join(10, TimeUnit.SECONDS);
            m.join(10, TimeUnit.SECONDS);
        }

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().get("/api/traces/" + traceId).then()
                .statusCode(200).body("spans.size()", equalTo(2)).body("spans[0].service", equalTo(service)));
        given().queryParam("service", service).queryParam("errorsOnly", true).get("/api/traces").then()
                .statusCode(200).body("traces.traceId", hasItem(traceId));

        String metrics = given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics").then().statusCode(200)
                .extract().asString();
        String selector = "destination_service=\"" + service + ".default.svc.cluster.local\"";
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("istio_requests_total{reporter=\"destination\","
                + "source_workload=\"frontend\"") && l.contains(selector) && l.endsWith(" 3.0")), metrics);
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("istio_request_duration_milliseconds_count{")
                && l.contains(selector) && l.endsWith(" 3.0")), metrics);
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("istio_request_duration_milliseconds_bucket{")
                && l.contains(selector) && l.contains("le=\"10.0\"") && l.endsWith(" 1.0")), metrics);
        IstioPromtool.assertValidMetrics(metrics);
    }
}
