package io.mesh.citadel.ca;

import java.time.Duration;

/** How long a leaf lives: the caller's request clamped to [min, max], or the default when it asks for none. */
public record TtlPolicy(Duration defaultTtl, Duration min, Duration max) {

    public static final TtlPolicy ISTIO = new TtlPolicy(Duration.ofHours(24), Duration.ofHours(1), Duration.ofDays(90));

    public TtlPolicy {
        if (min.compareTo(max) > 0 || defaultTtl.compareTo(min) < 0 || defaultTtl.compareTo(max) > 0) {
            throw new IllegalArgumentException("need min <= default <= max, got " + min + ", " + defaultTtl + ", " + max);
        }
    }

    /** @param requestedSeconds Istio's validity_duration; 0 or negative means "not asked". */
    public Duration clamp(long requestedSeconds) {
        if (requestedSeconds <= 0) {
            return defaultTtl;
        }
        Duration requested = Duration.ofSeconds(requestedSeconds);
        if (requested.compareTo(min) < 0) {
            return min;
        }
        return requested.compareTo(max) > 0 ? max : requested;
    }
}
