package io.mesh.gateway.model;

/**
 * The access log and tracing an HttpConnectionManager from xDS sets for its filter chain (pilot puts there what the
 * Telemetry resources resolve to): whether each request is written to the access log, the percentage of new traces
 * (requests without a trace context) that are sampled, and whether the proxy reports its spans over OTLP. A chain
 * without one (null) uses the gateway's local settings ({@code mesh.gateway.telemetry.*}). {@code spanTags}: the custom
 * tags of the spans reported (null: none). The access log's filter ({@code accessLogFilter}: Envoy's CEL filter; null:
 * every request is logged) decides per request. A tcp_proxy chain has one too, from the tcp_proxy's {@code access_log}
 * (no tracing: sampling 0, no spans), or none when it has no access log.
 */
public record ChainTelemetry(boolean accessLog, double samplingPercent, boolean reportSpans, SpanTags spanTags,
        AccessLogFilter accessLogFilter) {

    /** Without custom tags or an access log filter. */
    public ChainTelemetry(boolean accessLog, double samplingPercent, boolean reportSpans) {
        this(accessLog, samplingPercent, reportSpans, null, null);
    }

    /** Without an access log filter. */
    public ChainTelemetry(boolean accessLog, double samplingPercent, boolean reportSpans, SpanTags spanTags) {
        this(accessLog, samplingPercent, reportSpans, spanTags, null);
    }
}
