package io.mesh.telemetry.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns cumulative OTLP points into deltas, so that many proxies' streams can be summed into one Istio series.
 * It remembers the last point of each stream (resource + metric + attributes), at most {@code maxStreams}, the
 * least recently updated evicted first. A stream seen for the first time, restarted (new start time) or reset
 * (a value went down) contributes its whole value, as Prometheus' rate() treats a counter reset.
 *
 * <p>Thread-safety: every method takes the monitor; each is a map lookup and a small array update.
 */
public final class CumulativeStreams {

    private record Last(long startNanos, double value, long[] counts, double sum) {
    }

    private final Map<String, Last> streams;
    private long evicted;

    public CumulativeStreams(int maxStreams) {
        this.streams = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Last> eldest) {
                if (size() > maxStreams) {
                    evicted++;
                    return true;
                }
                return false;
            }
        };
    }

    /** The increase of a cumulative counter since its last point. */
    public synchronized double counterDelta(String stream, long startNanos, double value) {
        Last last = streams.put(stream, new Last(startNanos, value, null, 0));
        if (last == null || last.startNanos != startNanos || value < last.value) {
            return value;
        }
        return value - last.value;
    }

    /** The increase of a cumulative histogram since its last point; {@code counts} in the served layout. */
    public synchronized long[] histogramDelta(String stream, long startNanos, long[] counts, double sum,
            double[] sumDelta) {
        Last last = streams.put(stream, new Last(startNanos, 0, counts, sum));
        if (last == null || last.startNanos != startNanos || last.counts.length != counts.length) {
            sumDelta[0] = sum;
            return counts;
        }
        long[] delta = new long[counts.length];
        for (int i = 0; i < counts.length; i++) {
            delta[i] = counts[i] - last.counts[i];
            if (delta[i] < 0) {
                sumDelta[0] = sum;
                return counts;
            }
        }
        sumDelta[0] = sum - last.sum;
        return delta;
    }

    public synchronized int size() {
        return streams.size();
    }

    public synchronized long evicted() {
        return evicted;
    }
}
