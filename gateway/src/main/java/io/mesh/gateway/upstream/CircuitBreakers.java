package io.mesh.gateway.upstream;

/** Envoy's default-priority thresholds of a cluster (Envoy's defaults are 1024 and 3). */
public record CircuitBreakers(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries) {

    public static final CircuitBreakers DEFAULTS = new CircuitBreakers(1024, 1024, 1024, 3);
}
