package io.mesh.telemetry.traces;

import java.util.List;

/** One trace as a query lists it: where it started, how long it took, whether anything failed. */
public record TraceSummary(String traceId, String rootService, String rootName, int spanCount, long startNanos,
        long durationNanos, boolean error, List<String> services) {
}
