package io.mesh.gateway.route;

/** Fault injection of a route: percentages are per million, like Envoy's FractionalPercent. */
public record FaultPolicy(int delayPerMillion, long delayMs, int abortPerMillion, int abortStatus) {
}
