package io.mesh.telemetry.traces;

import java.util.Optional;

/**
 * What the query API can ask the store. A trace matches when one of its spans satisfies every filter given:
 * from {@code service}, lasting at least {@code minDurationNanos}, and failed if {@code errorsOnly}.
 */
public record TraceQuery(Optional<String> service, long minDurationNanos, boolean errorsOnly, int limit) {

    public static final int MAX_LIMIT = 1000;

    public TraceQuery {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be between 1 and " + MAX_LIMIT + ", was " + limit);
        }
        if (minDurationNanos < 0) {
            throw new IllegalArgumentException("the minimum duration must not be negative");
        }
    }

    boolean matches(StoredSpan span) {
        return service.map(span.service()::equals).orElse(true) && span.durationNanos() >= minDurationNanos
                && (!errorsOnly || span.error());
    }
}
