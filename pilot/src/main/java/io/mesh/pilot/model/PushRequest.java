package io.mesh.pilot.model;

import java.time.Instant;
import java.util.HashSet;
import java.util.Set;

/**
 * A change, as a value: what changed, why, and whether proxies need a full push or only new endpoints.
 * {@code start} is when the first merged event happened, for the convergence-time metric.
 */
public record PushRequest(boolean full, Set<String> reasons, Set<String> endpointHosts, Instant start) {

    public PushRequest {
        reasons = Set.copyOf(reasons);
        endpointHosts = Set.copyOf(endpointHosts);
    }

    public static PushRequest config(String reason, Instant now) {
        return new PushRequest(true, Set.of(reason), Set.of(), now);
    }

    public static PushRequest endpoints(Set<String> hosts, Instant now) {
        return new PushRequest(false, Set.of("endpoint"), hosts, now);
    }

    /** Full wins; reasons and hosts are unioned; the earliest start is kept. */
    public PushRequest merge(PushRequest other) {
        if (other == null) {
            return this;
        }
        Set<String> r = new HashSet<>(reasons);
        r.addAll(other.reasons);
        Set<String> h = new HashSet<>(endpointHosts);
        h.addAll(other.endpointHosts);
        return new PushRequest(full || other.full, r, h, start.isBefore(other.start) ? start : other.start);
    }
}
