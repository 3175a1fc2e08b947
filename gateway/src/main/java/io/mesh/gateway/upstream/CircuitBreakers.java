package io.mesh.gateway.upstream;

/**
 * Envoy's default-priority thresholds of a cluster (Envoy's defaults are 1024 and 3). {@code maxConnectionsSet}: the
 * cluster said {@code max_connections} itself; only then are tcp_proxy connections capped by it (Istio raises Envoy's
 * default to 2^32-1 on every cluster, so a mesh cluster without a DestinationRule limit has none).
 */
public record CircuitBreakers(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries,
        boolean maxConnectionsSet) {

    public static final CircuitBreakers DEFAULTS = new CircuitBreakers(1024, 1024, 1024, 3);

    public CircuitBreakers(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries) {
        this(maxConnections, maxPendingRequests, maxRequests, maxRetries, false);
    }
}
