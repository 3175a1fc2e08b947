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

    /** The endpoint as a resolved socket address when its host is an IP literal (no DNS lookup needed); else null. */
    final java.net.InetSocketAddress literal;
    /** {@code host:port}, as the access log's upstream_host shows it; built once. */
    final String hostPort;

    EndpointState(Endpoint endpoint) {
        this.endpoint = endpoint;
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
