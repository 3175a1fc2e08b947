package io.mesh.telemetry.graph;

import io.mesh.telemetry.metrics.Buckets;

/**
 * Requests (or TCP connections), errors, bytes and a latency histogram over the last {@code seconds} seconds, in one-second slots that are
 * reused as time moves on, so its memory is fixed. Time is passed in (an injected clock), never read here.
 *
 * <p>Thread-safety: every method takes the monitor.
 */
final class EdgeWindow {

    static final double[] LATENCY_BOUNDS_MS = durationBounds();

    /** Totals over the window. */
    record Totals(double requests, double errors, long[] latency, double bytes) {
    }

    private final int seconds;
    private final long[] epochs;
    private final double[] requests;
    private final double[] errors;
    private final double[] bytes;
    private final long[][] latency;

    EdgeWindow(int seconds) {
        this.seconds = seconds;
        this.epochs = new long[seconds];
        this.requests = new double[seconds];
        this.errors = new double[seconds];
        this.bytes = new double[seconds];
        this.latency = new long[seconds][LATENCY_BOUNDS_MS.length + 1];
        java.util.Arrays.fill(epochs, Long.MIN_VALUE);
    }

    synchronized void record(long nowSecond, double count, double failed) {
        int slot = slot(nowSecond);
        requests[slot] += count;
        errors[slot] += failed;
    }

    synchronized void bytes(long nowSecond, double n) {
        bytes[slot(nowSecond)] += n;
    }

    /** Adds per-bucket latency counts over {@link #LATENCY_BOUNDS_MS} plus +Inf. */
    synchronized void latency(long nowSecond, long[] counts) {
        int slot = slot(nowSecond);
        for (int i = 0; i < counts.length && i < latency[slot].length; i++) {
            latency[slot][i] += counts[i];
        }
    }

    synchronized Totals totals(long nowSecond) {
        double r = 0;
        double e = 0;
        double b = 0;
        long[] l = new long[LATENCY_BOUNDS_MS.length + 1];
        for (int slot = 0; slot < seconds; slot++) {
            if (epochs[slot] > nowSecond - seconds && epochs[slot] <= nowSecond) {
                r += requests[slot];
                e += errors[slot];
                b += bytes[slot];
                for (int i = 0; i < l.length; i++) {
                    l[i] += latency[slot][i];
                }
            }
        }
        return new Totals(r, e, l, b);
    }

    private int slot(long nowSecond) {
        int slot = (int) Math.floorMod(nowSecond, (long) seconds);
        if (epochs[slot] != nowSecond) {
            epochs[slot] = nowSecond;
            requests[slot] = 0;
            errors[slot] = 0;
            bytes[slot] = 0;
            java.util.Arrays.fill(latency[slot], 0);
        }
        return slot;
    }

    static int latencyIndex(double millis) {
        return Buckets.indexFor(LATENCY_BOUNDS_MS, millis);
    }

    private static double[] durationBounds() {
        // Istio's duration buckets: the graph's percentiles then agree with histogram_quantile over Prometheus.
        return io.mesh.telemetry.metrics.IstioMetric.REQUEST_DURATION.buckets().clone();
    }
}
