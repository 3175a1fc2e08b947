package io.mesh.telemetry.traces;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.OtlpFixtures;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TraceStoreTest {

    private static StoredSpan span(String service, String traceId, long durationMs, boolean error) {
        return StoredSpan.of(service, OtlpFixtures.span(traceId, OtlpFixtures.randomSpanId(), "", "op",
                Span.SpanKind.SPAN_KIND_SERVER, 1_000, durationMs * 1_000_000, error));
    }

    @Test
    void oldestSpansAreEvictedFirstWhenTheSpanBoundIsReached() {
        TraceStore store = new TraceStore(3, Long.MAX_VALUE);
        List<String> traces = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String traceId = OtlpFixtures.randomTraceId();
            traces.add(traceId);
            store.addAll(List.of(span("svc", traceId, 1, false)));
        }
        assertEquals(3, store.spanCount());
        assertEquals(2, store.evictedSpans());
        assertTrue(store.trace(traces.get(0)).isEmpty());
        assertTrue(store.trace(traces.get(1)).isEmpty());
        assertEquals(1, store.trace(traces.get(4)).size());
    }

    @Test
    void theByteBoundHoldsAndOversizedSpansAreNotKept() {
        StoredSpan sample = span("svc", OtlpFixtures.randomTraceId(), 1, false);
        long bound = sample.estimatedBytes() * 4 + 10;
        TraceStore store = new TraceStore(1_000, bound);
        for (int i = 0; i < 100; i++) {
            store.addAll(List.of(span("svc", OtlpFixtures.randomTraceId(), 1, false)));
            assertTrue(store.bytes() <= bound);
        }
        assertEquals(4, store.spanCount());
        TraceStore tiny = new TraceStore(10, 10);
        tiny.addAll(List.of(sample));
        assertEquals(0, tiny.spanCount());
    }

    @Test
    void queriesFilterByServiceMinimumDurationAndErrors() {
        TraceStore store = new TraceStore(100, Long.MAX_VALUE);
        String slow = OtlpFixtures.randomTraceId();
        String failed = OtlpFixtures.randomTraceId();
        String other = OtlpFixtures.randomTraceId();
        store.addAll(List.of(span("cart", slow, 900, false), span("cart", failed, 5, true),
                span("search", other, 2_000, true)));

        assertEquals(List.of(failed, slow), ids(store.find(new TraceQuery(Optional.of("cart"), 0, false, 10))));
        assertEquals(List.of(slow), ids(store.find(new TraceQuery(Optional.of("cart"), 500_000_000L, false, 10))));
        assertEquals(List.of(other, failed), ids(store.find(new TraceQuery(Optional.empty(), 0, true, 10))));
        assertEquals(List.of(other), ids(store.find(new TraceQuery(Optional.empty(), 0, true, 1))));
        assertEquals(List.of("cart", "search"), store.services());
    }

    @Test
    void aTraceSummaryNamesItsRootAndSpansAllItsServices() {
        TraceStore store = new TraceStore(100, Long.MAX_VALUE);
        String traceId = OtlpFixtures.randomTraceId();
        String root = OtlpFixtures.randomSpanId();
        store.addAll(List.of(
                StoredSpan.of("db", OtlpFixtures.span(traceId, OtlpFixtures.randomSpanId(), root, "query",
                        Span.SpanKind.SPAN_KIND_SERVER, 2_000_000, 1_000_000, true)),
                StoredSpan.of("web", OtlpFixtures.span(traceId, root, "", "GET /", Span.SpanKind.SPAN_KIND_SERVER,
                        1_000_000, 5_000_000, false))));
        TraceSummary summary = store.find(new TraceQuery(Optional.empty(), 0, false, 5)).get(0);
        assertEquals("web", summary.rootService());
        assertEquals(2, summary.spanCount());
        assertEquals(5_000_000, summary.durationNanos());
        assertTrue(summary.error());
        assertEquals(List.of("db", "web"), summary.services());
    }

    private static List<String> ids(List<TraceSummary> summaries) {
        return summaries.stream().map(TraceSummary::traceId).toList();
    }
}
