package io.mesh.telemetry;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.Sum;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** OTLP requests for tests, built with opentelemetry-proto's own builders. */
public final class OtlpFixtures {

    private OtlpFixtures() {
    }

    public static String randomTraceId() {
        byte[] id = new byte[16];
        ThreadLocalRandom.current().nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    public static String randomSpanId() {
        byte[] id = new byte[8];
        ThreadLocalRandom.current().nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    public static Span span(String traceId, String spanId, String parentSpanId, String name, Span.SpanKind kind,
            long startNanos, long durationNanos, boolean error) {
        Span.Builder span = Span.newBuilder()
                .setTraceId(ByteString.copyFrom(HexFormat.of().parseHex(traceId)))
                .setSpanId(ByteString.copyFrom(HexFormat.of().parseHex(spanId)))
                .setName(name).setKind(kind)
                .setStartTimeUnixNano(startNanos).setEndTimeUnixNano(startNanos + durationNanos)
                .addAttributes(attribute("http.route", "/" + name));
        if (!parentSpanId.isEmpty()) {
            span.setParentSpanId(ByteString.copyFrom(HexFormat.of().parseHex(parentSpanId)));
        }
        if (error) {
            span.setStatus(Status.newBuilder().setCode(Status.StatusCode.STATUS_CODE_ERROR).setMessage("boom"));
        }
        return span.build();
    }

    public static ExportTraceServiceRequest traces(String service, List<Span> spans) {
        return ExportTraceServiceRequest.newBuilder().addResourceSpans(ResourceSpans.newBuilder()
                .setResource(Resource.newBuilder().addAttributes(attribute("service.name", service)))
                .addScopeSpans(ScopeSpans.newBuilder().addAllSpans(spans))).build();
    }

    public static KeyValue attribute(String key, String value) {
        return KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setStringValue(value)).build();
    }

    static List<KeyValue> attributes(Map<String, String> labels) {
        return labels.entrySet().stream().map(e -> attribute(e.getKey(), e.getValue())).toList();
    }

    /** A delta {@code istio.requests} point with the given labels. */
    public static Metric requests(Map<String, String> labels, long count, AggregationTemporality temporality) {
        return sum("istio.requests", "{request}", labels, count, temporality);
    }

    /** A monotonic sum's point ({@code istio.requests}, {@code istio.tcp.*}) with the given labels. */
    public static Metric sum(String name, String unit, Map<String, String> labels, long value,
            AggregationTemporality temporality) {
        return Metric.newBuilder().setName(name).setUnit(unit)
                .setSum(Sum.newBuilder().setIsMonotonic(true).setAggregationTemporality(temporality)
                        .addDataPoints(NumberDataPoint.newBuilder().addAllAttributes(attributes(labels))
                                .setStartTimeUnixNano(1).setTimeUnixNano(2).setAsInt(value)))
                .build();
    }

    /** An {@code istio.request.duration} point with the given bounds and per-bucket counts. */
    public static Metric durations(Map<String, String> labels, List<Double> bounds, List<Long> counts, double sum,
            AggregationTemporality temporality) {
        return Metric.newBuilder().setName("istio.request.duration").setUnit("ms")
                .setHistogram(Histogram.newBuilder().setAggregationTemporality(temporality)
                        .addDataPoints(HistogramDataPoint.newBuilder().addAllAttributes(attributes(labels))
                                .setStartTimeUnixNano(1).setTimeUnixNano(2)
                                .addAllExplicitBounds(bounds).addAllBucketCounts(counts)
                                .setCount(counts.stream().mapToLong(Long::longValue).sum()).setSum(sum)))
                .build();
    }

    public static ExportMetricsServiceRequest metrics(Map<String, String> resource, Metric... metrics) {
        return metricsFromScope("", resource, metrics);
    }

    /** The same under an instrumentation scope ({@code io.mesh.gateway} is the mesh's proxies'). */
    public static ExportMetricsServiceRequest metricsFromScope(String scope, Map<String, String> resource,
            Metric... metrics) {
        return ExportMetricsServiceRequest.newBuilder().addResourceMetrics(ResourceMetrics.newBuilder()
                .setResource(Resource.newBuilder().addAllAttributes(attributes(resource)))
                .addScopeMetrics(ScopeMetrics.newBuilder()
                        .setScope(io.opentelemetry.proto.common.v1.InstrumentationScope.newBuilder().setName(scope))
                        .addAllMetrics(List.of(metrics)))).build();
    }
}
