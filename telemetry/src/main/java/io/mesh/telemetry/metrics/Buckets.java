package io.mesh.telemetry.metrics;

/**
 * Istio's histogram buckets, and the mapping of a proxy's own buckets onto them. An incoming bucket is counted in
 * the smallest served bucket whose upper bound is at least the incoming bucket's upper bound, so a served
 * {@code le} never undercounts.
 */
public final class Buckets {

    /** Istio's request duration buckets, in milliseconds. */
    static final double[] DURATION_MS = {0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
        60000, 300000, 600000, 1800000, 3600000};

    /** Istio's size buckets, in bytes: powers of ten up to 1e9. */
    static final double[] BYTES = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

    private Buckets() {
    }

    /** The index in {@code bounds} (or {@code bounds.length} for +Inf) where a value up to {@code upper} is counted. */
    public static int indexFor(double[] bounds, double upper) {
        int low = 0;
        int high = bounds.length;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (bounds[mid] >= upper) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return low;
    }

    /**
     * The value at {@code quantile} of a histogram given as per-bucket (non cumulative) counts over
     * {@code bounds} plus +Inf, interpolated linearly inside the bucket as Prometheus' histogram_quantile does.
     * NaN when empty.
     */
    public static double quantile(double[] bounds, long[] counts, double quantile) {
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        if (total == 0) {
            return Double.NaN;
        }
        double rank = quantile * total;
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                continue;
            }
            if (seen + counts[i] >= rank) {
                if (i == bounds.length) {
                    return bounds[bounds.length - 1];
                }
                double lower = i == 0 ? 0 : bounds[i - 1];
                return lower + (bounds[i] - lower) * ((rank - seen) / counts[i]);
            }
            seen += counts[i];
        }
        return bounds[bounds.length - 1];
    }
}
