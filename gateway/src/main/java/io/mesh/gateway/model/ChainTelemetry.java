package io.mesh.gateway.model;

/**
 * The access log and tracing an HttpConnectionManager from xDS sets for its filter chain (pilot puts there what the
 * Telemetry resources resolve to): whether each request is written to the access log, the percentage of new traces
 * (requests without a trace context) that are sampled, and whether the proxy reports its spans over OTLP. A chain
 * without one (null) uses the gateway's local settings ({@code mesh.gateway.telemetry.*}). {@code spanTags}: the custom
 * tags of the spans reported (null: none).
 */
public record ChainTelemetry(boolean accessLog, double samplingPercent, boolean reportSpans, SpanTags spanTags) {

    /** Without custom tags. */
    public ChainTelemetry(boolean accessLog, double samplingPercent, boolean reportSpans) {
        this(accessLog, samplingPercent, reportSpans, null);
    }
}
