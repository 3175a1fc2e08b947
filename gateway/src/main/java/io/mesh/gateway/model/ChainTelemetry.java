package io.mesh.gateway.model;

import java.util.List;

/**
 * The access log and tracing an HttpConnectionManager from xDS sets for its filter chain (pilot puts there what the
 * Telemetry resources resolve to): its access logs (each with its filter and format; empty: none), the percentage of
 * new traces (requests without a trace context) that are sampled, and whether the proxy reports its spans over OTLP. A
 * chain without one (null) uses the gateway's local settings ({@code mesh.gateway.telemetry.*}). {@code spanTags}: the
 * custom tags of the spans reported (null: none). A tcp_proxy chain has one too, from the tcp_proxy's
 * {@code access_log} (no tracing: sampling 0, no spans), or none when it has no access log.
 *
 * <p>What the access logs read is gathered up front: the request headers the fast path must keep (their filters' and
 * formats'), whether a response header or trailer is read, by a format or a filter (the fast path then keeps the
 * decoded response), and whether an upstream TLS operator is (the fast path then keeps the upstream connection's TLS).
 */
public record ChainTelemetry(List<AccessLogEntry> accessLogs, double samplingPercent, boolean reportSpans,
        SpanTags spanTags, String[] accessLogHeaders, boolean accessLogReadsResponse,
        boolean accessLogReadsUpstreamTls) {

    public ChainTelemetry(List<AccessLogEntry> accessLogs, double samplingPercent, boolean reportSpans,
            SpanTags spanTags) {
        this(List.copyOf(accessLogs), samplingPercent, reportSpans, spanTags, headers(accessLogs),
                accessLogs.stream().anyMatch(l -> l.format().readsResponseHeaders() || l.format().readsTrailers()
                        || l.filter() != null && l.filter().readsResponse()),
                accessLogs.stream().anyMatch(l -> l.format().readsUpstreamTls()));
    }

    /** Equal by what xDS set (the derived header names and response flag follow from the access logs). */
    @Override
    public boolean equals(Object o) {
        return o instanceof ChainTelemetry t && accessLogs.equals(t.accessLogs)
                && Double.compare(samplingPercent, t.samplingPercent) == 0 && reportSpans == t.reportSpans
                && java.util.Objects.equals(spanTags, t.spanTags);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(accessLogs, samplingPercent, reportSpans, spanTags);
    }

    /** Whether the chain writes an access log at all. */
    public boolean accessLog() {
        return !accessLogs.isEmpty();
    }

    private static String[] headers(List<AccessLogEntry> logs) {
        return logs.stream().flatMap(l -> java.util.stream.Stream.concat(
                l.filter() == null ? java.util.stream.Stream.<String>empty()
                        : java.util.Arrays.stream(l.filter().headerNames()),
                java.util.Arrays.stream(l.format().requestHeaders()))).distinct().sorted().toArray(String[]::new);
    }
}
