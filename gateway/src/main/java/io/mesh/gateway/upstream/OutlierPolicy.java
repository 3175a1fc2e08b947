package io.mesh.gateway.upstream;

/**
 * Envoy's outlier detection, reduced to consecutive errors: an endpoint is ejected for
 * {@code baseEjectionMs × ejections} after {@code consecutive5xx} 5xx answers or {@code consecutiveGatewayErrors}
 * 502/503/504/connect failures in a row; 0 disables a counter. At most {@code maxEjectionPercent} of a
 * cluster's endpoints are out at once.
 */
public record OutlierPolicy(int consecutive5xx, int consecutiveGatewayErrors, long baseEjectionMs, long maxEjectionMs,
        int maxEjectionPercent) {
}
