package io.mesh.telemetry.metrics;

import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.mesh.telemetry.traces.StoredSpan;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns proxies' OTLP metrics into increments of Istio's series. It owns the translation only: which OTLP
 * metric feeds which family (see {@link IstioMetric}), the label set of each point ({@link PointLabels}), and
 * cumulative-to-delta. Metrics that are not Istio's (an app's own SDK) are ignored, not rejected.
 *
 * <p>Thread-safe: state lives in {@link SeriesTable} and {@link CumulativeStreams}.
 */
public final class IstioMetricsIngest {

    /**
     * What became of one request's points: {@code rejected} for a wrong type or value, {@code refused} over a label bound
     * ({@link PointLabels}); {@code rejectionReason} (the first of either) is empty when none was.
     */
    public record Outcome(long accepted, long ignored, long rejected, long refused, String rejectionReason) {
    }

    private final SeriesTable series;
    private final CumulativeStreams streams;
    private final TrafficObserver observer;
    private final PointLabels pointLabels;

    public IstioMetricsIngest(SeriesTable series, CumulativeStreams streams, TrafficObserver observer,
            PointLabels pointLabels) {
        this.series = series;
        this.streams = streams;
        this.observer = observer;
        this.pointLabels = pointLabels;
    }

    public Outcome ingest(ExportMetricsServiceRequest request) {
        Counts counts = new Counts();
        for (ResourceMetrics resourceMetrics : request.getResourceMetricsList()) {
            Map<String, String> resource = attributes(resourceMetrics.getResource().getAttributesList());
            String resourceKey = resource.toString();
            for (ScopeMetrics scope : resourceMetrics.getScopeMetricsList()) {
                Source source = new Source(resource, resourceKey,
                        PointLabels.PROXY_SCOPE.equals(scope.getScope().getName()));
                for (Metric metric : scope.getMetricsList()) {
                    IstioMetric istio = IstioMetric.byOtlpName(metric.getName()).orElse(null);
                    if (istio == null) {
                        counts.ignored += points(metric);
                    } else {
                        ingest(istio, metric, source, counts);
                    }
                }
            }
        }
        return new Outcome(counts.accepted, counts.ignored, counts.rejected, counts.refused, counts.reason);
    }

    /** Where a point came from: its resource's attributes, and whether the mesh's proxies sent it. */
    private record Source(Map<String, String> resource, String resourceKey, boolean fromProxy) {
    }

    private static final class Counts {
        long accepted;
        long ignored;
        long rejected;
        long refused;
        String reason = "";

        void reject(long points, String why) {
            rejected += points;
            because(why);
        }

        void refuse(String why) {
            refused++;
            because(why);
        }

        private void because(String why) {
            if (reason.isEmpty()) {
                reason = why;
            }
        }
    }

    private void ingest(IstioMetric istio, Metric metric, Source source, Counts counts) {
        if (istio.kind() == IstioMetric.Kind.COUNTER) {
            if (!metric.hasSum()) {
                counts.reject(points(metric), metric.getName() + " must be a Sum (a counter)");
                return;
            }
            boolean cumulative = metric.getSum().getAggregationTemporality()
                    == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE;
            for (NumberDataPoint point : metric.getSum().getDataPointsList()) {
                double value = point.getValueCase() == NumberDataPoint.ValueCase.AS_INT ? point.getAsInt()
                        : point.getAsDouble();
                if (!(value >= 0) || Double.isInfinite(value)) {
                    counts.reject(1, metric.getName() + " has a negative or non-finite value");
                    continue;
                }
                Map<String, String> attributes = attributes(point.getAttributesList());
                PointLabels.Resolved resolved = pointLabels.resolve(istio, attributes, source.resource(),
                        source.fromProxy());
                if (resolved.refusal() != null) {
                    counts.refuse(resolved.refusal());
                    continue;
                }
                List<String> labels = resolved.standard();
                double delta = cumulative ? streams.counterDelta(streamKey(istio, source.resourceKey(), attributes),
                        point.getStartTimeUnixNano(), value) : value;
                counts.accepted++;
                if (delta > 0) {
                    series.addCounter(istio, resolved.names(), resolved.values(), delta);
                    if (istio == IstioMetric.REQUESTS) {
                        observer.requests(labels, delta);
                    } else if (istio == IstioMetric.TCP_CONNECTIONS_OPENED) {
                        observer.tcpConnections(labels, delta);
                    } else if (istio == IstioMetric.TCP_SENT_BYTES || istio == IstioMetric.TCP_RECEIVED_BYTES) {
                        observer.tcpBytes(labels, delta);
                    }
                }
            }
        } else if (metric.hasHistogram()) {
            boolean cumulative = metric.getHistogram().getAggregationTemporality()
                    == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE;
            for (HistogramDataPoint point : metric.getHistogram().getDataPointsList()) {
                addHistogram(istio, cumulative, point.getAttributesList(), point.getStartTimeUnixNano(),
                        explicitToServed(istio.buckets(), point), point.getSum(), source, counts);
            }
        } else if (metric.hasExponentialHistogram()) {
            boolean cumulative = metric.getExponentialHistogram().getAggregationTemporality()
                    == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE;
            for (ExponentialHistogramDataPoint point : metric.getExponentialHistogram().getDataPointsList()) {
                addHistogram(istio, cumulative, point.getAttributesList(), point.getStartTimeUnixNano(),
                        exponentialToServed(istio.buckets(), point), point.getSum(), source, counts);
            }
        } else {
            counts.reject(points(metric), metric.getName() + " must be a Histogram or ExponentialHistogram");
        }
    }

    private void addHistogram(IstioMetric istio, boolean cumulative, List<KeyValue> pointAttributes,
            long startNanos, long[] served, double sum, Source source, Counts counts) {
        Map<String, String> attributes = attributes(pointAttributes);
        PointLabels.Resolved resolved = pointLabels.resolve(istio, attributes, source.resource(), source.fromProxy());
        if (resolved.refusal() != null) {
            counts.refuse(resolved.refusal());
            return;
        }
        long[] delta = served;
        double sumDelta = sum;
        if (cumulative) {
            double[] sumOut = new double[1];
            delta = streams.histogramDelta(streamKey(istio, source.resourceKey(), attributes), startNanos, served, sum,
                    sumOut);
            sumDelta = sumOut[0];
        }
        counts.accepted++;
        series.addHistogram(istio, resolved.names(), resolved.values(), delta, sumDelta);
        if (istio == IstioMetric.REQUEST_DURATION) {
            observer.durations(resolved.standard(), delta);
        }
    }

    static long[] explicitToServed(double[] bounds, HistogramDataPoint point) {
        long[] served = new long[bounds.length + 1];
        if (point.getBucketCountsCount() == 0) {
            served[bounds.length] = point.getCount();
            return served;
        }
        for (int i = 0; i < point.getBucketCountsCount(); i++) {
            double upper = i < point.getExplicitBoundsCount() ? point.getExplicitBounds(i) : Double.POSITIVE_INFINITY;
            served[Buckets.indexFor(bounds, upper)] += point.getBucketCounts(i);
        }
        return served;
    }

    static long[] exponentialToServed(double[] bounds, ExponentialHistogramDataPoint point) {
        long[] served = new long[bounds.length + 1];
        // Zero and negative values (not meaningful for durations or sizes) go to the lowest bucket.
        served[0] += point.getZeroCount();
        for (long c : point.getNegative().getBucketCountsList()) {
            served[0] += c;
        }
        double exponentScale = Math.pow(2, -point.getScale());
        int offset = point.getPositive().getOffset();
        List<Long> positive = point.getPositive().getBucketCountsList();
        for (int k = 0; k < positive.size(); k++) {
            double upper = Math.pow(2, (offset + k + 1) * exponentScale);
            served[Buckets.indexFor(bounds, upper)] += positive.get(k);
        }
        return served;
    }

    private static String streamKey(IstioMetric istio, String resourceKey, Map<String, String> attributes) {
        return istio.ordinal() + resourceKey + attributes;
    }

    private static Map<String, String> attributes(List<KeyValue> keyValues) {
        Map<String, String> map = new TreeMap<>();
        for (KeyValue kv : keyValues) {
            map.put(kv.getKey(), StoredSpan.text(kv.getValue()));
        }
        return map;
    }

    private static long points(Metric metric) {
        return switch (metric.getDataCase()) {
            case GAUGE -> metric.getGauge().getDataPointsCount();
            case SUM -> metric.getSum().getDataPointsCount();
            case HISTOGRAM -> metric.getHistogram().getDataPointsCount();
            case EXPONENTIAL_HISTOGRAM -> metric.getExponentialHistogram().getDataPointsCount();
            case SUMMARY -> metric.getSummary().getDataPointsCount();
            default -> 0;
        };
    }
}
