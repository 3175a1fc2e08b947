package io.mesh.telemetry.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.OtlpFixtures;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogram;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.prometheus.client.Collector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IstioMetricsIngestTest {

    private static final AggregationTemporality DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA;
    private static final AggregationTemporality CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE;

    private final List<IstioMetric> overflows = new ArrayList<>();
    private final SeriesTable table = new SeriesTable(3, overflows::add);
    private final IstioMetricsIngest ingest = new IstioMetricsIngest(table, new CumulativeStreams(100),
            TrafficObserver.NONE, new PointLabels(8, 128));

    private double requests(String destination) {
        for (Collector.MetricFamilySamples family : new IstioCollector(table).collect()) {
            for (Collector.MetricFamilySamples.Sample sample : family.samples) {
                if (sample.name.equals("istio_requests_total")
                        && sample.labelValues.get(Labels.HTTP.indexOf("destination_service")).equals(destination)) {
                    return sample.value;
                }
            }
        }
        return 0;
    }

    @Test
    void deltaPointsFromManyProxiesAreSummed() {
        Map<String, String> labels = Map.of("destination_service", "a", "response_code", "200");
        ingest.ingest(OtlpFixtures.metrics(Map.of("service.instance.id", "p1"), OtlpFixtures.requests(labels, 3, DELTA)));
        ingest.ingest(OtlpFixtures.metrics(Map.of("service.instance.id", "p2"), OtlpFixtures.requests(labels, 4, DELTA)));
        assertEquals(7, requests("a"));
    }

    @Test
    void cumulativeStreamsContributeTheirIncreaseAndResetsCountWhole() {
        Map<String, String> labels = Map.of("destination_service", "b");
        for (long value : new long[] {10, 15, 15, 4}) {
            ingest.ingest(OtlpFixtures.metrics(Map.of("service.instance.id", "p1"),
                    OtlpFixtures.requests(labels, value, CUMULATIVE)));
        }
        ingest.ingest(OtlpFixtures.metrics(Map.of("service.instance.id", "p2"),
                OtlpFixtures.requests(labels, 6, CUMULATIVE)));
        // p1: 10 + 5 + 0 + 4 (reset), p2: 6
        assertEquals(25, requests("b"));
    }

    @Test
    void labelsComeFromPointThenResourceAttributesAndDefaultToUnknown() {
        ingest.ingest(OtlpFixtures.metrics(Map.of("reporter", "source", "source_workload", "from-resource"),
                OtlpFixtures.requests(Map.of("destination_service", "c", "source_workload", "from-point"), 1, DELTA)));
        SeriesTable.SeriesKey key = table.view().keySet().iterator().next();
        assertEquals("source", key.values().get(Labels.HTTP.indexOf("reporter")));
        assertEquals("from-point", key.values().get(Labels.HTTP.indexOf("source_workload")));
        assertEquals(Labels.UNKNOWN, key.values().get(Labels.HTTP.indexOf("response_flags")));
    }

    @Test
    void seriesPastTheLimitAreDroppedAndCounted() {
        for (int i = 0; i < 5; i++) {
            ingest.ingest(OtlpFixtures.metrics(Map.of(),
                    OtlpFixtures.requests(Map.of("destination_service", "svc-" + i), 1, DELTA)));
        }
        assertEquals(3, table.size());
        assertEquals(List.of(IstioMetric.REQUESTS, IstioMetric.REQUESTS), overflows);
        // An existing series still counts.
        ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.requests(Map.of("destination_service", "svc-0"), 1,
                DELTA)));
        assertEquals(2, requests("svc-0"));
    }

    @Test
    void explicitBucketsAreMappedOntoIstioBucketsWithoutUndercounting() {
        // Bounds 7 and 300 fall inside Istio's (5,10] and (250,500] buckets.
        ingest.ingest(OtlpFixtures.metrics(Map.of(), OtlpFixtures.durations(Map.of("destination_service", "h"),
                List.of(7.0, 300.0), List.of(2L, 3L, 1L), 1234, DELTA)));
        SeriesTable.HistogramTotals totals = (SeriesTable.HistogramTotals) table.view().values().iterator().next();
        double[] bounds = IstioMetric.REQUEST_DURATION.buckets();
        assertEquals(2, totals.counts.get(Buckets.indexFor(bounds, 10)));
        assertEquals(3, totals.counts.get(Buckets.indexFor(bounds, 500)));
        assertEquals(1, totals.counts.get(bounds.length));
        assertEquals(1234, totals.sum.sum());
    }

    @Test
    void exponentialHistogramsAreAccepted() {
        // Scale 0: bucket k covers (2^k, 2^(k+1)]; offset 3 -> (8,16] and (16,32].
        Metric metric = Metric.newBuilder().setName("istio.request.duration").setExponentialHistogram(
                ExponentialHistogram.newBuilder().setAggregationTemporality(DELTA).addDataPoints(
                        ExponentialHistogramDataPoint.newBuilder().setScale(0).setCount(3).setSum(40).setZeroCount(0)
                                .setPositive(ExponentialHistogramDataPoint.Buckets.newBuilder().setOffset(3)
                                        .addBucketCounts(1).addBucketCounts(2)))).build();
        IstioMetricsIngest.Outcome outcome = ingest.ingest(OtlpFixtures.metrics(Map.of(), metric));
        assertEquals(1, outcome.accepted());
        long[] served = IstioMetricsIngest.exponentialToServed(IstioMetric.REQUEST_DURATION.buckets(),
                metric.getExponentialHistogram().getDataPoints(0));
        double[] bounds = IstioMetric.REQUEST_DURATION.buckets();
        assertEquals(1, served[Buckets.indexFor(bounds, 16)]);
        assertEquals(2, served[Buckets.indexFor(bounds, 32)]);
    }

    @Test
    void otherMetricsAreIgnoredAndWrongTypesRejected() {
        Metric appMetric = Metric.newBuilder().setName("http.server.duration").setSum(
                io.opentelemetry.proto.metrics.v1.Sum.newBuilder().addDataPoints(
                        io.opentelemetry.proto.metrics.v1.NumberDataPoint.newBuilder().setAsInt(1))).build();
        Metric gauge = Metric.newBuilder().setName("istio.requests").setGauge(
                io.opentelemetry.proto.metrics.v1.Gauge.newBuilder().addDataPoints(
                        io.opentelemetry.proto.metrics.v1.NumberDataPoint.newBuilder().setAsInt(1))).build();
        IstioMetricsIngest.Outcome outcome = ingest.ingest(OtlpFixtures.metrics(Map.of(), appMetric, gauge));
        assertEquals(1, outcome.ignored());
        assertEquals(1, outcome.rejected());
        assertTrue(outcome.rejectionReason().contains("must be a Sum"));
        assertEquals(0, table.size());
    }

    @Test
    void quantilesInterpolateWithinBuckets() {
        double[] bounds = {10, 20};
        assertEquals(15, Buckets.quantile(bounds, new long[] {0, 2, 0}, 0.5), 1e-9);
        assertEquals(20, Buckets.quantile(bounds, new long[] {0, 0, 4}, 0.99), 1e-9);
        assertTrue(Double.isNaN(Buckets.quantile(bounds, new long[3], 0.5)));
        assertArrayEquals(new int[] {0, 1, 2}, new int[] {Buckets.indexFor(bounds, 10), Buckets.indexFor(bounds, 11),
            Buckets.indexFor(bounds, Double.POSITIVE_INFINITY)});
    }
}
