package io.mesh.gateway.upstream;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live state of one endpoint: in-flight requests, consecutive-error counters and ejection. It outlives
 * config swaps as long as the endpoint's address stays in the cluster. Written from any event loop, so all
 * fields are atomics or volatile; the ejection decision tolerates the benign race of two loops deciding
 * at once.
 */
public final class EndpointState {

    final Endpoint endpoint;
    /** Built once: every try to this endpoint uses it. */
    final io.vertx.core.net.SocketAddress address;
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger consecutive5xx = new AtomicInteger();
    final AtomicInteger consecutiveGatewayErrors = new AtomicInteger();
    final AtomicLong requests = new AtomicLong();
    final AtomicLong failures = new AtomicLong();
    volatile long ejectedUntilNanos;
    volatile int ejections;
    /**
     * The EDS health ({@link Endpoint.Health#ordinal}). It changes only in {@code Upstream.setEndpoints} (an endpoint
     * whose health changes keeps its state), before the new endpoint set is published through a volatile write, so
     * a plain field: a pick on the old set may see either value.
     */
    int edsHealth;

    /** {@link #health} codes, in Envoy's terms: healthy, degraded, not healthy (counted), excluded (not counted). */
    static final int HEALTHY = 0;
    static final int DEGRADED = 1;
    static final int UNHEALTHY = 2;
    static final int EXCLUDED = 3;

    /** The endpoint as a resolved socket address when its host is an IP literal (no DNS lookup needed); else null. */
    final java.net.InetSocketAddress literal;
    /** {@code host:port}, as the access log's upstream_host shows it; built once. */
    final String hostPort;

    /**
     * Which of the cluster's transports this endpoint's connections use ({@link ClusterSpec#transportFor}), chosen once
     * from its transport socket match metadata when the endpoints are set.
     */
    final int transport;
    /** When it joined the cluster ({@link System#nanoTime}): its slow start ({@link SlowStart}) counts from then. */
    final long joinedNanos;

    EndpointState(Endpoint endpoint, int transport) {
        this(endpoint, transport, System.nanoTime());
    }

    EndpointState(Endpoint endpoint, int transport, long joinedNanos) {
        this.joinedNanos = joinedNanos;
        this.endpoint = endpoint;
        this.transport = transport;
        this.hostPort = endpoint.address();
        this.address = io.vertx.core.net.SocketAddress.inetSocketAddress(endpoint.port(), endpoint.host());
        byte[] ip = io.netty.util.NetUtil.createByteArrayFromIpAddressString(endpoint.host());
        java.net.InetSocketAddress a = null;
        if (ip != null) {
            try {
                a = new java.net.InetSocketAddress(java.net.InetAddress.getByAddress(ip), endpoint.port());
            } catch (java.net.UnknownHostException impossible) {
                a = null;
            }
        }
        this.literal = a;
        this.edsHealth = endpoint.health().ordinal();
    }

    /**
     * The host's health now, as Envoy partitions hosts: EXCLUDED when EDS says DRAINING; UNHEALTHY when EDS says so or
     * outlier detection ejected it; else DEGRADED or HEALTHY as EDS says.
     */
    int health(long nowNanos) {
        int h = edsHealth;
        if (h >= UNHEALTHY) {
            return h;
        }
        return ejected(nowNanos) ? UNHEALTHY : h;
    }

    /** The health the admin API shows: ejected, unhealthy, draining, degraded or healthy. */
    public String healthName(long nowNanos) {
        if (ejected(nowNanos)) {
            return "ejected";
        }
        return switch (edsHealth) {
            case DEGRADED -> "degraded";
            case UNHEALTHY -> "unhealthy";
            case EXCLUDED -> "draining";
            default -> "healthy";
        };
    }

    /** The address to connect to without a DNS lookup, or null when the host is a name. */
    public java.net.InetSocketAddress literalAddress() {
        return literal;
    }

    /** {@link Endpoint#address()}, built once. */
    public String hostPort() {
        return hostPort;
    }

    public io.vertx.core.net.SocketAddress address() {
        return address;
    }

    /** The index of its transport in {@link ClusterSpec#transports}. */
    public int transport() {
        return transport;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    public int active() {
        return active.get();
    }

    public long requests() {
        return requests.get();
    }

    public long failures() {
        return failures.get();
    }

    public int ejections() {
        return ejections;
    }

    public boolean ejected(long nowNanos) {
        return ejectedUntilNanos != 0 && nowNanos - ejectedUntilNanos < 0;
    }
}
