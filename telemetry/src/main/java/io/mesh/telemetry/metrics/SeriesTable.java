package io.mesh.telemetry.metrics;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Istio's series, as running totals that only go up: one per (family, label names and values). It owns the cardinality
 * bound: a label set past {@code maxSeries} is not created, its data is dropped, the overflow is counted and
 * logged once. Series are never removed (counters must not go back), so the bound also bounds memory.
 *
 * <p>Thread-safety: a concurrent map; counters are adders, histogram buckets atomic arrays. A scrape may see a
 * histogram between two of its bucket updates, which Prometheus tolerates as it does for any live client.
 */
public final class SeriesTable {

    private static final Logger LOG = Logger.getLogger(SeriesTable.class);

    /**
     * One label set of one family: {@code names} as served (usually the family's standard {@link IstioMetric#labels()},
     * fewer when a proxy removed some, more when it added some; see {@link PointLabels}), {@code values} in step.
     */
    public record SeriesKey(IstioMetric metric, List<String> names, List<String> values) {
    }

    /** A histogram's running totals, in the family's bucket layout plus +Inf. */
    public static final class HistogramTotals {
        final AtomicLongArray counts;
        final DoubleAdder sum = new DoubleAdder();

        HistogramTotals(int buckets) {
            counts = new AtomicLongArray(buckets);
        }
    }

    private final int maxSeries;
    private final Map<SeriesKey, Object> series = new ConcurrentHashMap<>();
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicBoolean overflowLogged = new AtomicBoolean();
    private final Consumer<IstioMetric> onOverflow;

    public SeriesTable(int maxSeries, Consumer<IstioMetric> onOverflow) {
        this.maxSeries = maxSeries;
        this.onOverflow = onOverflow;
    }

    public void addCounter(IstioMetric metric, List<String> names, List<String> values, double delta) {
        Object totals = totals(new SeriesKey(metric, names, values));
        if (totals != null) {
            ((DoubleAdder) totals).add(delta);
        }
    }

    /** Adds per-bucket (non cumulative) counts in the family's layout, and their sum. */
    public void addHistogram(IstioMetric metric, List<String> names, List<String> values, long[] counts, double sum) {
        Object totals = totals(new SeriesKey(metric, names, values));
        if (totals != null) {
            HistogramTotals histogram = (HistogramTotals) totals;
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] != 0) {
                    histogram.counts.addAndGet(i, counts[i]);
                }
            }
            histogram.sum.add(sum);
        }
    }

    private Object totals(SeriesKey key) {
        Object existing = series.get(key);
        if (existing != null) {
            return existing;
        }
        if (size.incrementAndGet() > maxSeries) {
            size.decrementAndGet();
            onOverflow.accept(key.metric());
            if (overflowLogged.compareAndSet(false, true)) {
                LOG.warnf("Istio series limit reached (%d series): new label sets are dropped and counted in "
                        + "telemetry_series_overflow_total; first dropped: %s", maxSeries, key.metric().family());
            }
            return null;
        }
        Object created = key.metric().kind() == IstioMetric.Kind.COUNTER ? new DoubleAdder()
                : new HistogramTotals(key.metric().buckets().length + 1);
        Object raced = series.putIfAbsent(key, created);
        if (raced != null) {
            size.decrementAndGet();
            return raced;
        }
        return created;
    }

    public int size() {
        return size.get();
    }

    public int maxSeries() {
        return maxSeries;
    }

    Map<SeriesKey, Object> view() {
        return series;
    }
}
