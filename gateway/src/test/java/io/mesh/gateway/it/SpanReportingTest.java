package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.FreePorts;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Telemetry's {@code disableSpanReporting} as pilot sends it (the HCM's {@code tracing.overall_sampling} 0): the
 * gateway, reporting over a real OpenTelemetry SDK, still samples and propagates {@code traceparent} but reports no span;
 * with reporting on again (the next LDS push) each sampled request is a span, and the upstream's parent.
 */
class SpanReportingTest {

    @Test
    void disabledSpanReportingPropagatesTheSampledTraceAndReportsNoSpanUntilItIsOnAgain() throws Exception {
        List<SpanData> spans = new CopyOnWriteArrayList<>();
        SpanExporter exporter = new SpanExporter() {
            public CompletableResultCode export(Collection<SpanData> batch) {
                spans.addAll(batch);
                return CompletableResultCode.ofSuccess();
            }

            public CompletableResultCode flush() {
                return CompletableResultCode.ofSuccess();
            }

            public CompletableResultCode shutdown() {
                return CompletableResultCode.ofSuccess();
            }
        };
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(exporter)).build()).build();
        Vertx vertx = Vertx.vertx();
        Backend web = new Backend(vertx, "web");
        int port = FreePorts.next();
        try (ControlPlane pilot = new ControlPlane()) {
            String v = publish(pilot, web, port, false);
            TestGateway gw = new TestGateway(Map.of("mesh.gateway.xds.address", pilot.address()), sdk);
            try {
                await().atMost(Duration.ofSeconds(20)).until(gw::ready);
                await().atMost(Duration.ofSeconds(10)).until(() -> pilot.listenersAcked(v));
                for (int i = 0; i < 5; i++) {
                    assertTrue(traceparent(port).endsWith("-01"), "sampled at 100%, and propagated");
                }
                String off = traceparent(port);

                String on = publish(pilot, web, port, true);
                await().atMost(Duration.ofSeconds(10)).until(() -> pilot.listenersAcked(on));
                String reported = traceparent(port);
                await().atMost(Duration.ofSeconds(5)).until(() -> !spans.isEmpty());
                assertEquals(1, spans.size(), "only the request made with span reporting on: " + spans);
                SpanData span = spans.get(0);
                assertTrue(reported.contains(span.getTraceId() + "-" + span.getSpanId()), reported + " vs " + span);
                assertTrue(!off.contains(span.getTraceId()), off);
            } finally {
                gw.close();
            }
        } finally {
            vertx.close();
        }
    }

    /** The listener with pilot's HCM: 100% sampling, span reporting on or off; returns the snapshot's version. */
    static String publish(ControlPlane pilot, Backend web, int port, boolean reportSpans) {
        return pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(ListenerTelemetryTest.listener(port, ListenerTelemetryTest.pilotShape("/dev/stdout", 100,
                        reportSpans))),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
    }

    /** The traceparent the backend received for a request without one. */
    static String traceparent(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/headers")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return ListenerTelemetryTest.traceparent(r.body());
    }
}
