package io.mesh.telemetry.acceptance;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.mesh.telemetry.IstioPromtool;
import io.mesh.telemetry.OtlpFixtures;
import io.mesh.telemetry.ingest.IngestLimiter;
import io.mesh.telemetry.ingest.OtlpGrpcReceiver;
import io.mesh.telemetry.ingest.OtlpHttpReceiver;
import io.mesh.telemetry.metrics.SeriesTable;
import io.mesh.telemetry.traces.TraceStore;
import io.mesh.testing.Promtool;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.trace.v1.Span;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Acceptance: a flood of unique label sets and spans, over both transports at once, never grows the series past
 * the limit (the overflow is counted) nor the trace store past its span and byte bounds, and the in-flight
 * bound is fully released afterwards.
 */
@QuarkusTest
@TestProfile(FloodLimitsTest.SmallLimits.class)
class FloodLimitsTest {

    public static class SmallLimits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("mesh.telemetry.metrics.max-series", "50",
                    "mesh.telemetry.traces.max-spans", "2000",
                    "mesh.telemetry.traces.max-bytes", "400000",
                    "mesh.telemetry.limits.max-in-flight-bytes", "1048576",
                    "mesh.telemetry.graph.max-edges", "20");
        }
    }

    private static final int THREADS = 8;
    private static final int REQUESTS_PER_THREAD = 60;
    private static final int SPANS_PER_REQUEST = 200;
    /** Live heap the flood may add: about 6 MB with the bounds; the 96,000 spans would retain about 57 MB without. */
    private static final long MAX_HEAP_GROWTH_BYTES = 30L << 20;

    @Inject
    OtlpHttpReceiver http;
    @Inject
    OtlpGrpcReceiver grpc;
    @Inject
    SeriesTable series;
    @Inject
    TraceStore store;
    @Inject
    IngestLimiter limiter;

    @Test
    void seriesAndTraceStoreBoundsHoldUnderAFlood() throws Exception {
        long heapBefore = liveHeap();
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", grpc.port()).usePlaintext().build();
        Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    TraceServiceGrpc.TraceServiceBlockingStub stub = TraceServiceGrpc.newBlockingStub(channel);
                    for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
                        String outcome = thread % 2 == 0 ? sendGrpc(stub, spans()) : sendHttp(client, "/v1/traces",
                                spans().toByteArray());
                        outcomes.computeIfAbsent("traces " + outcome, k -> new AtomicInteger()).incrementAndGet();
                        outcome = sendHttp(client, "/v1/metrics", uniqueSeries(thread, i).toByteArray());
                        outcomes.computeIfAbsent("metrics " + outcome, k -> new AtomicInteger()).incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
            channel.shutdownNow();
        }

        assertTrue(outcomes.getOrDefault("traces ok", new AtomicInteger()).get() > 0, outcomes.toString());
        assertEquals(50, series.size(), outcomes.toString());
        assertTrue(store.spanCount() <= 2000, "spans " + store.spanCount());
        assertTrue(store.bytes() <= 400000, "bytes " + store.bytes());
        assertTrue(store.evictedSpans() > 0);
        assertEquals(0, limiter.inFlightBytes(), "every reservation was released");
        long growth = liveHeap() - heapBefore;
        assertTrue(growth < MAX_HEAP_GROWTH_BYTES, "live heap grew by " + (growth >> 20) + " MB");

        String metrics = given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics").then().statusCode(200)
                .extract().asString();
        assertEquals(50, metrics.lines().filter(l -> l.startsWith("istio_requests_total{")).count());
        double overflow = metrics.lines().filter(l -> l.startsWith("telemetry_series_overflow_total{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
        assertTrue(overflow > 0, "overflow is counted");
        assertTrue(metrics.contains("telemetry_trace_store_evicted_spans_total"));
        IstioPromtool.assertValidMetrics(metrics);
    }

    /** Heap in use after a full collection (telemetry runs in this JVM). */
    private static long liveHeap() {
        System.gc();
        return java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static ExportTraceServiceRequest spans() {
        List<Span> spans = new ArrayList<>();
        for (int i = 0; i < SPANS_PER_REQUEST; i++) {
            spans.add(OtlpFixtures.span(OtlpFixtures.randomTraceId(), OtlpFixtures.randomSpanId(), "", "flood-" + i,
                    Span.SpanKind.SPAN_KIND_SERVER, 1, 1_000_000, i % 7 == 0));
        }
        return OtlpFixtures.traces("flood", spans);
    }

    private static ExportMetricsServiceRequest uniqueSeries(int thread, int request) {
        List<Metric> metrics = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            metrics.add(OtlpFixtures.requests(Map.of("destination_service", "svc-" + thread + "-" + request + "-" + i,
                    "response_code", "200"), 1, AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA));
        }
        return OtlpFixtures.metrics(Map.of("service.name", "flood-proxy"), metrics.toArray(Metric[]::new));
    }

    private String sendHttp(HttpClient client, String path, byte[] body) {
        try {
            HttpResponse<Void> response = client.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + http.port() + path))
                    .header("Content-Type", "application/x-protobuf").POST(HttpRequest.BodyPublishers.ofByteArray(body))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.discarding());
            return switch (response.statusCode()) {
                case 200 -> "ok";
                case 429 -> "throttled";
                default -> "http " + response.statusCode();
            };
        } catch (Exception e) {
            return "error " + e.getClass().getSimpleName();
        }
    }

    private static String sendGrpc(TraceServiceGrpc.TraceServiceBlockingStub stub, ExportTraceServiceRequest request) {
        try {
            stub.withDeadlineAfter(30, TimeUnit.SECONDS).export(request);
            return "ok";
        } catch (StatusRuntimeException e) {
            return "grpc " + e.getStatus().getCode();
        }
    }
}
