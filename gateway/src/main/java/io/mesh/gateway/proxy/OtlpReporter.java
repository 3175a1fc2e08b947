package io.mesh.gateway.proxy;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * OTLP reporting through the OpenTelemetry API (the SDK and its exporter are Quarkus's, or a test's): one
 * server span per request, parented by the incoming W3C context, whose id is the parent id the upstream
 * sees; and Istio's metrics under the OTLP names telemetry ingests ({@code istio.requests},
 * {@code istio.request.duration} in ms, {@code istio.request.bytes}, {@code istio.response.bytes}; for tcp_proxy
 * connections {@code istio.tcp.connections_opened}, {@code istio.tcp.connections_closed},
 * {@code istio.tcp.received_bytes} and {@code istio.tcp.sent_bytes}). Only built when OTLP is on, so the request
 * path pays nothing otherwise.
 */
public final class OtlpReporter {

    private final Tracer tracer;
    private final LongCounter requests;
    private final DoubleHistogram duration;
    private final LongHistogram requestBytes;
    private final LongHistogram responseBytes;
    private final LongCounter tcpOpened;
    private final LongCounter tcpClosed;
    private final LongCounter tcpReceived;
    private final LongCounter tcpSent;

    public OtlpReporter(OpenTelemetry otel) {
        this.tracer = otel.getTracer("io.mesh.gateway");
        Meter meter = otel.getMeter("io.mesh.gateway");
        this.requests = meter.counterBuilder("istio.requests").setUnit("{request}").setDescription("Requests").build();
        this.duration = meter.histogramBuilder("istio.request.duration").setUnit("ms").setDescription("Request duration").build();
        this.requestBytes = meter.histogramBuilder("istio.request.bytes").ofLongs().setUnit("By").build();
        this.responseBytes = meter.histogramBuilder("istio.response.bytes").ofLongs().setUnit("By").build();
        this.tcpOpened = meter.counterBuilder("istio.tcp.connections_opened").setUnit("{connection}")
                .setDescription("TCP connections opened").build();
        this.tcpClosed = meter.counterBuilder("istio.tcp.connections_closed").setUnit("{connection}")
                .setDescription("TCP connections closed").build();
        this.tcpReceived = meter.counterBuilder("istio.tcp.received_bytes").setUnit("By")
                .setDescription("Bytes received from the downstream").build();
        this.tcpSent = meter.counterBuilder("istio.tcp.sent_bytes").setUnit("By")
                .setDescription("Bytes sent to the downstream").build();
    }

    /**
     * Istio's TCP metrics of one kind of connection (its labels as attributes), over OTLP; each metric's own attributes
     * (a Telemetry's tag overrides can differ per metric), null for a metric that is dropped.
     */
    record Tcp(OtlpReporter to, Attributes onOpen, Attributes onClose, Attributes onReceive, Attributes onSend) {
        Tcp(OtlpReporter to, Attributes all) {
            this(to, all, all, all, all);
        }

        void opened() {
            if (onOpen != null) {
                to.tcpOpened.add(1, onOpen);
            }
        }

        void closed() {
            if (onClose != null) {
                to.tcpClosed.add(1, onClose);
            }
        }

        void received(long bytes) {
            if (onReceive != null) {
                to.tcpReceived.add(bytes, onReceive);
            }
        }

        void sent(long bytes) {
            if (onSend != null) {
                to.tcpSent.add(bytes, onSend);
            }
        }
    }

    /** Starts the gateway's span; returns null when tracing is a no-op. */
    Span start(ProxyExchange ex, String incomingTraceparent) {
        return start(ex.request.method().name(), ex.path(), ex.authority(), incomingTraceparent);
    }

    /** The same for any path (the fast path has no Vert.x request). */
    Span start(String method, String path, String authority, String incomingTraceparent) {
        Context parent = Context.root();
        SpanContext remote = parse(incomingTraceparent);
        if (remote != null) {
            parent = parent.with(Span.wrap(remote));
        }
        Span span = tracer.spanBuilder(method + " " + path).setParent(parent)
                .setSpanKind(SpanKind.SERVER).setStartTimestamp(System.currentTimeMillis(), TimeUnit.MILLISECONDS)
                .setAttribute("http.request.method", method)
                .setAttribute("url.path", path).setAttribute("server.address", authority).startSpan();
        return span.getSpanContext().isValid() ? span : null;
    }

    static String traceparent(Span span) {
        SpanContext c = span.getSpanContext();
        return "00-" + c.getTraceId() + "-" + c.getSpanId() + "-" + c.getTraceFlags().asHex();
    }

    void end(ExchangeRecord ex, Span span, int code, String flags, String cluster) {
        span.setAttribute("http.response.status_code", code);
        span.setAttribute("response_flags", flags);
        span.setAttribute("upstream_cluster", cluster);
        if (ex.upstreamHost() != null) {
            span.setAttribute("upstream_host", ex.upstreamHost());
        }
        if (code >= 500 || code == 0) {
            span.setStatus(StatusCode.ERROR);
        }
        span.end();
    }

    /**
     * The HCM's custom tags on a reported span: the fixed ones, then each header's value on this request (its default
     * when absent); an empty value is not set, as Envoy's.
     */
    static void tag(Span span, io.mesh.gateway.model.SpanTags tags, ExchangeRecord ex) {
        for (io.mesh.gateway.model.SpanTags.Fixed f : tags.fixed()) {
            span.setAttribute(f.tag(), f.value());
        }
        for (io.mesh.gateway.model.SpanTags.Header h : tags.headers()) {
            String v = ex.header(h.name());
            v = v == null ? h.defaultValue() : v;
            if (!v.isEmpty()) {
                span.setAttribute(h.tag(), v);
            }
        }
    }

    static Attributes attributes(Map<String, String> labels) {
        AttributesBuilder b = Attributes.builder();
        labels.forEach((k, v) -> b.put(AttributeKey.stringKey(k), v));
        return b.build();
    }

    /** One request's metrics, each with its own attributes (null: that metric is dropped). */
    void record(Attributes count, Attributes time, Attributes in, Attributes out, double ms, long received, long sent) {
        if (count != null) {
            requests.add(1, count);
        }
        if (time != null) {
            duration.record(ms, time);
        }
        if (in != null) {
            requestBytes.record(received, in);
        }
        if (out != null) {
            responseBytes.record(sent, out);
        }
    }

    private static SpanContext parse(String tp) {
        if (tp == null || tp.length() != 55 || !tp.startsWith("00-")) {
            return null;
        }
        SpanContext c = SpanContext.createFromRemoteParent(tp.substring(3, 35), tp.substring(36, 52),
                TraceFlags.fromHex(tp, 53), TraceState.getDefault());
        return c.isValid() ? c : null;
    }
}
