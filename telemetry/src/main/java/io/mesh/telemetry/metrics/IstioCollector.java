package io.mesh.telemetry.metrics;

import io.prometheus.client.Collector;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * Serves {@link SeriesTable} as Prometheus families with Istio's exact names and labels, inside the same
 * registry as Micrometer's meters, so /q/metrics is one exposition. Each series carries its own label names (a family
 * may mix series with and without a label a Telemetry added or removed, as the text format allows). It only reads; it never resets anything.
 */
public final class IstioCollector extends Collector {

    private final SeriesTable table;

    public IstioCollector(SeriesTable table) {
        this.table = table;
    }

    @Override
    public List<MetricFamilySamples> collect() {
        Map<IstioMetric, List<MetricFamilySamples.Sample>> samples = new EnumMap<>(IstioMetric.class);
        for (Map.Entry<SeriesTable.SeriesKey, Object> entry : table.view().entrySet()) {
            IstioMetric metric = entry.getKey().metric();
            List<String> names = entry.getKey().names();
            List<String> values = entry.getKey().values();
            List<MetricFamilySamples.Sample> family = samples.computeIfAbsent(metric, m -> new ArrayList<>());
            if (entry.getValue() instanceof DoubleAdder counter) {
                family.add(new MetricFamilySamples.Sample(metric.family() + "_total", names, values, counter.sum()));
            } else {
                addHistogram(family, metric, names, values, (SeriesTable.HistogramTotals) entry.getValue());
            }
        }
        List<MetricFamilySamples> families = new ArrayList<>(samples.size());
        for (Map.Entry<IstioMetric, List<MetricFamilySamples.Sample>> entry : samples.entrySet()) {
            IstioMetric metric = entry.getKey();
            Type type = metric.kind() == IstioMetric.Kind.COUNTER ? Type.COUNTER : Type.HISTOGRAM;
            families.add(new MetricFamilySamples(metric.family(), type, metric.help(), entry.getValue()));
        }
        return families;
    }

    private static void addHistogram(List<MetricFamilySamples.Sample> family, IstioMetric metric, List<String> names,
            List<String> values, SeriesTable.HistogramTotals totals) {
        List<String> bucketNames = new ArrayList<>(names);
        bucketNames.add("le");
        double[] bounds = metric.buckets();
        long cumulative = 0;
        for (int i = 0; i <= bounds.length; i++) {
            cumulative += totals.counts.get(i);
            List<String> bucketValues = new ArrayList<>(values);
            bucketValues.add(i < bounds.length ? doubleToGoString(bounds[i]) : "+Inf");
            family.add(new MetricFamilySamples.Sample(metric.family() + "_bucket", bucketNames, bucketValues,
                    cumulative));
        }
        family.add(new MetricFamilySamples.Sample(metric.family() + "_count", names, values, cumulative));
        family.add(new MetricFamilySamples.Sample(metric.family() + "_sum", names, values, totals.sum.sum()));
    }
}
