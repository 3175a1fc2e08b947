package io.mesh.gateway.proxy;

/**
 * Envoy's response flags, as they appear in access logs and the {@code response_flags} metric label. Each carries its
 * bit in Envoy's legacy bit vector ({@code StreamInfo::ResponseFlag}), the value of the CEL attribute
 * {@code response.flags}.
 */
public enum ResponseFlag {
    /** No route matched. */
    NR(0x100),
    /** The route names a cluster that does not exist. */
    NC(0x1000000),
    /** No healthy upstream endpoint. */
    UH(0x2),
    /** Upstream connection failure. */
    UF(0x20),
    /** A circuit breaker overflowed. */
    UO(0x80),
    /** Upstream request timeout. */
    UT(0x4),
    /** Upstream reset the stream or closed the connection. */
    UR(0x10),
    /** Upstream retry limit exceeded: the last try's failure is returned. */
    URX(0x8000),
    /** Downstream connection terminated before the response finished. */
    DC(0x4000),
    /** Fault injection: abort. */
    FI(0x400),
    /** Fault injection: delay. */
    DI(0x200),
    /** The downstream request was invalid (too large, bad headers). */
    DPE(0x40000),
    /** A TCP connection reached tcp_proxy's max_downstream_connection_duration and was closed (Envoy's DurationTimeout). */
    DT(0x400000),
    /** The external authorization service denied the request, or could not be asked (Envoy's UnauthorizedExternalService). */
    UAEX(0x1000);

    /** The flag's bit in Envoy's bit vector. */
    final long envoyBit;

    ResponseFlag(long envoyBit) {
        this.envoyBit = envoyBit;
    }

    private static final ResponseFlag[] ALL = values();

    /** {@code flags} (this proxy's: bit {@code 1 << ordinal} per flag) as Envoy's bit vector ({@code response.flags}). */
    static long envoyBits(int flags) {
        long bits = 0;
        for (ResponseFlag f : ALL) {
            if ((flags & (1 << f.ordinal())) != 0) {
                bits |= f.envoyBit;
            }
        }
        return bits;
    }
}
