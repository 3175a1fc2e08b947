package io.mesh.gateway.proxy;

/** Envoy's response flags, as they appear in access logs and the {@code response_flags} metric label. */
public enum ResponseFlag {
    /** No route matched. */
    NR,
    /** The route names a cluster that does not exist. */
    NC,
    /** No healthy upstream endpoint. */
    UH,
    /** Upstream connection failure. */
    UF,
    /** A circuit breaker overflowed. */
    UO,
    /** Upstream request timeout. */
    UT,
    /** Upstream reset the stream or closed the connection. */
    UR,
    /** Upstream retry limit exceeded: the last try's failure is returned. */
    URX,
    /** Downstream connection terminated before the response finished. */
    DC,
    /** Fault injection: abort. */
    FI,
    /** Fault injection: delay. */
    DI,
    /** The downstream request was invalid (too large, bad headers). */
    DPE,
    /** A TCP connection reached tcp_proxy's max_downstream_connection_duration and was closed (Envoy's DurationTimeout). */
    DT
}
