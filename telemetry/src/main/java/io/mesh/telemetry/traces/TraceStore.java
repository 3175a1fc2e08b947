package io.mesh.telemetry.traces;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The in-memory trace store. It owns spans in arrival order, bounded both by count and by estimated bytes, and
 * evicts the oldest first so that it never holds more than its bounds, whatever arrives. It never copies or
 * blocks on anything outside itself.
 *
 * <p>Thread-safety: every method takes the store's monitor; each is short (one insert, or one scan for a query).
 */
public final class TraceStore {

    private final int maxSpans;
    private final long maxBytes;
    private final ArrayDeque<StoredSpan> arrivalOrder = new ArrayDeque<>();
    private final Map<String, ArrayDeque<StoredSpan>> byTrace = new HashMap<>();
    private long bytes;
    private long evicted;

    public TraceStore(int maxSpans, long maxBytes) {
        if (maxSpans < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("trace store bounds must be positive");
        }
        this.maxSpans = maxSpans;
        this.maxBytes = maxBytes;
    }

    /** Adds spans, evicting the oldest as needed. A span larger than the whole byte bound is not kept. */
    public synchronized void addAll(List<StoredSpan> spans) {
        for (StoredSpan span : spans) {
            long size = span.estimatedBytes();
            if (size > maxBytes) {
                evicted++;
                continue;
            }
            while (arrivalOrder.size() >= maxSpans || bytes + size > maxBytes) {
                evictOldest();
            }
            arrivalOrder.addLast(span);
            byTrace.computeIfAbsent(span.traceId(), id -> new ArrayDeque<>()).addLast(span);
            bytes += size;
        }
    }

    private void evictOldest() {
        StoredSpan oldest = arrivalOrder.removeFirst();
        ArrayDeque<StoredSpan> trace = byTrace.get(oldest.traceId());
        // Spans of a trace are kept in arrival order too, so the oldest overall is the first of its trace.
        trace.removeFirst();
        if (trace.isEmpty()) {
            byTrace.remove(oldest.traceId());
        }
        bytes -= oldest.estimatedBytes();
        evicted++;
    }

    /** The spans of one trace, by start time; empty when unknown or evicted. */
    public synchronized List<StoredSpan> trace(String traceId) {
        ArrayDeque<StoredSpan> spans = byTrace.get(traceId);
        if (spans == null) {
            return List.of();
        }
        List<StoredSpan> sorted = new ArrayList<>(spans);
        sorted.sort(Comparator.comparingLong(StoredSpan::startNanos));
        return sorted;
    }

    /** Traces with a span matching the query, most recently received first. */
    public synchronized List<TraceSummary> find(TraceQuery query) {
        Set<String> matched = new LinkedHashSet<>();
        Iterator<StoredSpan> newestFirst = arrivalOrder.descendingIterator();
        while (newestFirst.hasNext() && matched.size() < query.limit()) {
            StoredSpan span = newestFirst.next();
            if (query.matches(span)) {
                matched.add(span.traceId());
            }
        }
        List<TraceSummary> summaries = new ArrayList<>(matched.size());
        for (String traceId : matched) {
            summaries.add(summarize(traceId, byTrace.get(traceId)));
        }
        return summaries;
    }

    private static TraceSummary summarize(String traceId, ArrayDeque<StoredSpan> spans) {
        long start = Long.MAX_VALUE;
        long end = Long.MIN_VALUE;
        boolean error = false;
        StoredSpan root = null;
        Set<String> services = new TreeSet<>();
        for (StoredSpan span : spans) {
            start = Math.min(start, span.startNanos());
            end = Math.max(end, span.endNanos());
            error |= span.error();
            services.add(span.service());
            if (root == null || span.isRoot() && !root.isRoot() || span.isRoot() == root.isRoot()
                    && span.startNanos() < root.startNanos()) {
                root = span;
            }
        }
        return new TraceSummary(traceId, root.service(), root.name(), spans.size(), start, end - start, error,
                List.copyOf(services));
    }

    /** Services that have spans in the store, sorted. */
    public synchronized List<String> services() {
        Set<String> services = new TreeSet<>();
        for (StoredSpan span : arrivalOrder) {
            services.add(span.service());
        }
        return List.copyOf(services);
    }

    public synchronized int spanCount() {
        return arrivalOrder.size();
    }

    public synchronized long bytes() {
        return bytes;
    }

    public synchronized long evictedSpans() {
        return evicted;
    }

    public int maxSpans() {
        return maxSpans;
    }

    public long maxBytes() {
        return maxBytes;
    }

    public Optional<StoredSpan> span(String traceId, String spanId) {
        return trace(traceId).stream().filter(s -> s.spanId().equals(spanId)).findFirst();
    }
}
