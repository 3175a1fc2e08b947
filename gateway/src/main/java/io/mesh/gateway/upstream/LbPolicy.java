package io.mesh.gateway.upstream;

/**
 * Endpoint selection of a cluster. MAGLEV is served by the ring hash. ORIGINAL_DST is Envoy's passthrough
 * cluster: the endpoint is the request's original destination (before capture), never picked from a list.
 */
public enum LbPolicy { ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, ORIGINAL_DST }
