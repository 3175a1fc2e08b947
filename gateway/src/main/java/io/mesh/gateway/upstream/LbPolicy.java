package io.mesh.gateway.upstream;

/** Endpoint selection of a cluster. MAGLEV is served by the ring hash. */
public enum LbPolicy { ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH }
