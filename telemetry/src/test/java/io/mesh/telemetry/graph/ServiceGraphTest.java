package io.mesh.telemetry.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.OtlpFixtures;
import io.mesh.telemetry.metrics.Labels;
import io.mesh.telemetry.traces.StoredSpan;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ServiceGraphTest {

    private final AtomicLong clock = new AtomicLong(1_000_000);
    private final ServiceGraph graph = new ServiceGraph(10, 100, clock::get);

    private static List<String> labels(Map<String, String> values) {
        List<String> labels = new ArrayList<>();
        for (String name : Labels.HTTP) {
            labels.add(values.getOrDefault(name, Labels.UNKNOWN));
        }
        return labels;
    }

    private static List<String> call(String reporter, String code) {
        return labels(Map.of("reporter", reporter, "source_workload", "productpage-v1",
                "source_workload_namespace", "default", "destination_service", "reviews.default.svc.cluster.local",
                "destination_workload", "reviews-v2", "destination_workload_namespace", "default",
                "response_code", code));
    }

    private GraphView.Edge edge(String source, String target) {
        return graph.view().edges().stream().filter(e -> e.source().equals(source) && e.target().equals(target))
                .findFirst().orElse(null);
    }

    @Test
    void requestMetricsDrawWorkloadServiceWorkloadEdgesWithRpsAndErrorRate() {
        graph.requests(call("destination", "200"), 15);
        graph.requests(call("destination", "503"), 5);
        long[] latency = new long[EdgeWindow.LATENCY_BOUNDS_MS.length + 1];
        latency[EdgeWindow.latencyIndex(10)] = 20;
        graph.durations(call("destination", "200"), latency);
        clock.addAndGet(9_000);

        GraphView.Edge in = edge("workload:default/productpage-v1", "service:reviews.default.svc.cluster.local");
        assertEquals(2.0, in.rps(), 1e-9);
        assertEquals(0.25, in.errorRate(), 1e-9);
        assertTrue(in.p50Ms() > 5 && in.p50Ms() <= 10, "p50 " + in.p50Ms());
        assertTrue(in.p99Ms() > 5 && in.p99Ms() <= 10, "p99 " + in.p99Ms());
        assertEquals("metrics-destination", in.origin());
        assertTrue(edge("service:reviews.default.svc.cluster.local", "workload:default/reviews-v2") != null);
        assertTrue(graph.view().nodes().stream().anyMatch(n -> n.id().equals("service:reviews.default.svc.cluster.local")
                && n.error()));
    }

    @Test
    void destinationReportsArePreferredOverSourceReportsOfTheSameCalls() {
        graph.requests(call("source", "200"), 10);
        assertEquals("metrics-source",
                edge("workload:default/productpage-v1", "service:reviews.default.svc.cluster.local").origin());
        graph.requests(call("destination", "200"), 10);
        GraphView.Edge in = edge("workload:default/productpage-v1", "service:reviews.default.svc.cluster.local");
        assertEquals("metrics-destination", in.origin());
        assertEquals(10.0, in.rps(), 1e-9, "a one-second-old edge's rate is over one second");
    }

    @Test
    void edgesLeaveTheGraphOnceIdleForAWindow() {
        graph.requests(call("destination", "200"), 10);
        clock.addAndGet(9_000);
        assertEquals(2, graph.view().edges().size());
        clock.addAndGet(2_000);
        assertTrue(graph.view().edges().isEmpty());
        assertTrue(graph.view().nodes().isEmpty());
    }

    @Test
    void spansOfDifferentServicesMakeEdgesWhicheverArrivesFirst() {
        SpanEdges spanEdges = new SpanEdges(graph, 100);
        String traceId = OtlpFixtures.randomTraceId();
        String client = OtlpFixtures.randomSpanId();
        StoredSpan server = StoredSpan.of("ratings", OtlpFixtures.span(traceId, OtlpFixtures.randomSpanId(), client,
                "GET /ratings", Span.SpanKind.SPAN_KIND_SERVER, 0, 30_000_000, true));
        // The server span ends (and arrives) before its parent client span.
        spanEdges.observe(List.of(server));
        assertTrue(graph.view().edges().isEmpty());
        spanEdges.observe(List.of(StoredSpan.of("reviews", OtlpFixtures.span(traceId, client, "", "call ratings",
                Span.SpanKind.SPAN_KIND_CLIENT, 0, 31_000_000, false))));
        GraphView.Edge edge = edge("app:reviews", "app:ratings");
        assertEquals(1.0, edge.errorRate(), 1e-9);
        assertEquals("traces", edge.origin());
        assertTrue(edge.p50Ms() > 25 && edge.p50Ms() <= 50);
    }

    @Test
    void theEdgeLimitHolds() {
        ServiceGraph small = new ServiceGraph(10, 2, clock::get);
        for (int i = 0; i < 5; i++) {
            small.spanCall("a", "b" + i, 1_000_000, false);
        }
        assertEquals(2, small.view().edges().size());
        assertEquals(3, small.ignoredEdges());
        assertNull(small.view().edges().stream().filter(e -> e.target().equals("app:b4")).findFirst().orElse(null));
    }

    @Test
    void istiosTcpMetricsDrawTcpEdgesWithConnectionsAndBytesApartFromHttpOnes() {
        // Through the ingest, as a gateway's OTLP export arrives: opened connections and bytes both ways.
        var ingest = new io.mesh.telemetry.metrics.IstioMetricsIngest(new io.mesh.telemetry.metrics.SeriesTable(100, m -> { }),
                new io.mesh.telemetry.metrics.CumulativeStreams(100), graph, new io.mesh.telemetry.metrics.PointLabels(8, 128));
        Map<String, String> tcp = Map.of("reporter", "destination", "source_workload", "reviews-v2",
                "source_workload_namespace", "default", "destination_service", "mysql.default.svc.cluster.local",
                "destination_workload", "mysql-v1", "destination_workload_namespace", "default", "request_protocol", "tcp");
        var delta = io.opentelemetry.proto.metrics.v1.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA;
        ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.sum("istio.tcp.connections_opened", "{connection}", tcp, 4,
                delta), OtlpFixtures.sum("istio.tcp.received_bytes", "By", tcp, 3000, delta),
                OtlpFixtures.sum("istio.tcp.sent_bytes", "By", tcp, 7000, delta)));
        graph.requests(call("destination", "200"), 10);   // an HTTP edge from another workload to another service
        clock.addAndGet(1_000);

        GraphView.Edge in = edge("workload:default/reviews-v2", "service:mysql.default.svc.cluster.local");
        assertEquals("tcp", in.protocol());
        assertEquals(2.0, in.rps(), 1e-9, "4 connections over the edge's 2 seconds");
        assertEquals(5000.0, in.bytesPerSecond(), 1e-9, "10,000 bytes both ways over 2 seconds");
        assertEquals(0.0, in.errorRate());
        assertNull(in.p50Ms());
        assertEquals("metrics-destination", in.origin());
        assertEquals("tcp", edge("service:mysql.default.svc.cluster.local", "workload:default/mysql-v1").protocol());
        GraphView.Edge http = edge("workload:default/productpage-v1", "service:reviews.default.svc.cluster.local");
        assertEquals("http", http.protocol());
        assertNull(http.bytesPerSecond());

        // A long connection moves bytes without opening new ones: the edge stays live on its bytes.
        clock.addAndGet(9_000);
        ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.sum("istio.tcp.sent_bytes", "By", tcp, 500, delta)));
        GraphView.Edge later = edge("workload:default/reviews-v2", "service:mysql.default.svc.cluster.local");
        assertEquals(0.0, later.rps(), 1e-9);
        assertTrue(later.bytesPerSecond() > 0, later.toString());
    }
}
