package io.mesh.gateway.upstream;

/**
 * Envoy's slow start ({@code round_robin_lb_config} / {@code least_request_lb_config} {@code slow_start_config}, which
 * istiod writes for a DestinationRule's {@code loadBalancer.warmup}): for {@code windowNanos} after an endpoint joins
 * the cluster its weight is scaled by {@code max(minWeightPercent / 100, timeFactor ^ (1 / aggression))}, where
 * {@code timeFactor = max(age, 1 s) / window}. Immutable.
 */
public record SlowStart(long windowNanos, double aggression, double minWeightPercent) {

    /** Envoy's defaults: a linear ramp from 10 %. */
    public static final double DEFAULT_AGGRESSION = 1.0;
    public static final double DEFAULT_MIN_WEIGHT_PERCENT = 10.0;

    /** The factor of an endpoint that joined at {@code joinedNanos}, at {@code nowNanos}: 1 once out of the window. */
    public double factor(long joinedNanos, long nowNanos) {
        long age = nowNanos - joinedNanos;
        if (age >= windowNanos) {
            return 1.0;
        }
        double time = Math.max(age, 1_000_000_000L) / (double) windowNanos;
        double ramp = aggression == 1.0 ? time : Math.pow(time, 1.0 / aggression);
        return Math.min(1.0, Math.max(minWeightPercent / 100.0, ramp));
    }

    /** How long the weights of a ramp hold before they are worked out again: a 20th of the window, 50 ms to 1 s. */
    public long stepNanos() {
        return Math.max(50_000_000L, Math.min(1_000_000_000L, windowNanos / 20));
    }
}
