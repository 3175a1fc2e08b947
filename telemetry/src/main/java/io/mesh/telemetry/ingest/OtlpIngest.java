package io.mesh.telemetry.ingest;

import io.mesh.telemetry.graph.SpanEdges;
import io.mesh.telemetry.metrics.IstioMetricsIngest;
import io.mesh.telemetry.traces.StoredSpan;
import io.mesh.telemetry.traces.TraceStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * What both receivers call once a request is decoded: spans go to the trace store, the span graph and the
 * forwarder; metrics to Istio's series. It is transport-agnostic and never blocks on I/O (forwarding is queued).
 *
 * <p>Thread-safe: each destination is.
 */
public final class OtlpIngest {

    static final String UNKNOWN_SERVICE = "unknown_service";

    private final TraceStore store;
    private final SpanEdges spanEdges;
    private final IstioMetricsIngest metrics;
    private final Consumer<ExportTraceServiceRequest> forwarder;
    private final Counter spansReceived;
    private final Counter pointsAccepted;
    private final Counter pointsIgnored;
    private final Counter pointsRejected;
    private final Counter pointsRefused;

    public OtlpIngest(TraceStore store, SpanEdges spanEdges, IstioMetricsIngest metrics,
            Consumer<ExportTraceServiceRequest> forwarder, MeterRegistry registry) {
        this.store = store;
        this.spanEdges = spanEdges;
        this.metrics = metrics;
        this.forwarder = forwarder;
        this.spansReceived = Counter.builder("telemetry.otlp.spans.received")
                .description("Spans received over OTLP").register(registry);
        this.pointsAccepted = points(registry, "accepted");
        this.pointsIgnored = points(registry, "ignored");
        this.pointsRejected = points(registry, "rejected");
        this.pointsRefused = points(registry, "refused");
    }

    private static Counter points(MeterRegistry registry, String outcome) {
        return Counter.builder("telemetry.otlp.metric.points").tag("outcome", outcome)
                .description("OTLP metric data points received: accepted into Istio series, ignored (not an Istio "
                        + "metric), rejected (wrong type or value) or refused (over a label bound)")
                .register(registry);
    }

    public ExportTraceServiceResponse traces(ExportTraceServiceRequest request) {
        List<StoredSpan> spans = new ArrayList<>();
        for (ResourceSpans resourceSpans : request.getResourceSpansList()) {
            String service = serviceName(resourceSpans.getResource().getAttributesList());
            for (ScopeSpans scope : resourceSpans.getScopeSpansList()) {
                for (Span span : scope.getSpansList()) {
                    spans.add(StoredSpan.of(service, span));
                }
            }
        }
        store.addAll(spans);
        spanEdges.observe(spans);
        forwarder.accept(request);
        spansReceived.increment(spans.size());
        return ExportTraceServiceResponse.getDefaultInstance();
    }

    public ExportMetricsServiceResponse metrics(ExportMetricsServiceRequest request) {
        IstioMetricsIngest.Outcome outcome = metrics.ingest(request);
        pointsAccepted.increment(outcome.accepted());
        pointsIgnored.increment(outcome.ignored());
        pointsRejected.increment(outcome.rejected());
        pointsRefused.increment(outcome.refused());
        long notTaken = outcome.rejected() + outcome.refused();
        if (notTaken == 0) {
            return ExportMetricsServiceResponse.getDefaultInstance();
        }
        return ExportMetricsServiceResponse.newBuilder().setPartialSuccess(ExportMetricsPartialSuccess.newBuilder()
                .setRejectedDataPoints(notTaken).setErrorMessage(outcome.rejectionReason())).build();
    }

    private static String serviceName(List<KeyValue> attributes) {
        for (KeyValue kv : attributes) {
            if (kv.getKey().equals("service.name") && !StoredSpan.text(kv.getValue()).isEmpty()) {
                return StoredSpan.text(kv.getValue());
            }
        }
        return UNKNOWN_SERVICE;
    }
}
