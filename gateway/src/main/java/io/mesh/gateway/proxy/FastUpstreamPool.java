package io.mesh.gateway.proxy;

import io.mesh.gateway.upstream.EndpointState;
import io.mesh.gateway.upstream.Upstream;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.jboss.logging.Logger;

/**
 * The fast path's upstream connections of one event loop: keep-alive HTTP/1.1 connections per endpoint, made on
 * that loop with the downstream channel's own transport (native epoll when it is on), so a request and its
 * upstream connection never leave the thread. Per cluster, at most {@code max_connections} are open on this loop
 * (as the Vert.x path's per-loop client pool); past it a request waits (at most {@code max_pending_requests}
 * waiting, else 503 UO). A cluster with TLS (a DestinationRule's, or auto mTLS to a mesh endpoint) gets it on each
 * connection, with the same trust, SPIFFE ID check and client certificate as its Vert.x clients; the connection is
 * handed out once the handshake succeeded (a failed one is a connect failure). Idle connections past the cluster's
 * idle timeout, or of a cluster or endpoint that left the config, are closed (when met, and by a sweep every few
 * seconds). A connection older than the cluster's {@code max_connection_duration} is not reused: closed when it is
 * released or met idle (and by the sweep), as Envoy drains it; its request in flight finishes. That check compares the
 * clock value the exchange already read with the deadline the connection got when it connected. Confined to its event
 * loop, except {@link #close}.
 */
final class FastUpstreamPool {

    private static final Logger LOG = Logger.getLogger(FastUpstreamPool.class);

    private final EventLoop loop;
    private final IdentityHashMap<EndpointState, ArrayDeque<FastUpstreamConnection>> idle = new IdentityHashMap<>();
    private final IdentityHashMap<Upstream, PerCluster> clusters = new IdentityHashMap<>();
    private volatile boolean closed;

    private static final class PerCluster {
        int open;
        final ArrayDeque<FastExchange> waiters = new ArrayDeque<>();
    }

    FastUpstreamPool(EventLoop loop) {
        this.loop = loop;
        loop.scheduleWithFixedDelay(this::sweep, SWEEP_SECONDS, SWEEP_SECONDS, TimeUnit.SECONDS);
    }

    private static final long SWEEP_SECONDS = 5;

    /**
     * Closes idle connections past their cluster's idle timeout, and those of clusters or endpoints that left the
     * config (their {@code Upstream} is closed, or the endpoint is no longer in it), so none linger.
     */
    private void sweep() {
        if (idle.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        List<FastUpstreamConnection> stale = new ArrayList<>();
        for (ArrayDeque<FastUpstreamConnection> q : idle.values()) {
            for (FastUpstreamConnection c : q) {
                long maxIdle = c.upstream.spec().idleTimeoutMs() * 1_000_000L;
                if (closed || c.upstream.isClosed() || (maxIdle > 0 && now - c.idleSince >= maxIdle)
                        || now >= c.expiresAt || !c.upstream.endpoints().contains(c.endpoint)) {
                    stale.add(c);
                }
            }
        }
        stale.forEach(c -> c.channel.close());
    }

    /** Hands {@code ex} a connection to {@code ep}: now (idle or new once connected), later (waits), or fails it. */
    void acquire(FastExchange ex, Upstream u, EndpointState ep, Channel downstream) {
        ArrayDeque<FastUpstreamConnection> q = idle.get(ep);
        if (q != null) {
            long now = ex.startNanos;   // microseconds ago: no second clock read per request for the idle check
            long maxIdle = u.spec().idleTimeoutMs() * 1_000_000L;
            FastUpstreamConnection c;
            while ((c = q.pollLast()) != null) {
                if (c.channel.isActive() && (maxIdle <= 0 || now - c.idleSince < maxIdle) && now < c.expiresAt) {
                    c.inUse = true;
                    ex.onConnection(c);
                    return;
                }
                c.channel.close();
            }
        }
        PerCluster pc = clusters.computeIfAbsent(u, k -> new PerCluster());
        if (pc.open < Math.max(1, u.spec().breakers().maxConnections())) {
            connect(ex, u, ep, pc, downstream.getClass());
            return;
        }
        if (pc.waiters.size() >= u.spec().breakers().maxPendingRequests()) {
            ex.onPoolOverflow();
            return;
        }
        pc.waiters.add(ex);
    }

    void cancelWait(FastExchange ex, Upstream u) {
        PerCluster pc = clusters.get(u);
        if (pc != null) {
            pc.waiters.remove(ex);
        }
    }

    private void connect(FastExchange ex, Upstream u, EndpointState ep, PerCluster pc, Class<? extends Channel> type) {
        SslContext tls = null;
        if (u.tls(ep) != null) {   // the endpoint's transport: the cluster's transport_socket or its match's
            try {
                tls = u.nettyTls(ep);
            } catch (SSLException | RuntimeException e) {
                LOG.warnf("cluster %s: TLS does not load: %s", u.spec().name(), e.getMessage());
                ex.onConnectFailure();
                return;
            }
        }
        pc.open++;
        FastUpstreamConnection c = new FastUpstreamConnection(this, u, ep, tls);
        long maxAge = u.spec().maxConnectionDurationMs();
        if (maxAge > 0) {
            c.expiresAt = System.nanoTime() + maxAge * 1_000_000L;   // once per connection, never per request
        }
        ChannelFuture f = new Bootstrap().group(loop).channel(type)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, Math.max(1, u.spec().connectTimeoutMs())))
                .handler(c)
                .connect(ep.literalAddress());
        c.channel = f.channel();
        c.channel.closeFuture().addListener(x -> closed(c));
        f.addListener(done -> {
            if (!done.isSuccess()) {
                ex.onConnectFailure();
            } else if (c.ssl == null) {
                c.inUse = true;
                ex.onConnection(c);
            } else {
                // TLS origination: the connection is the exchange's once the handshake (and the peer's check) succeeded.
                c.ssl.handshakeFuture().addListener(hs -> {
                    if (hs.isSuccess()) {
                        c.inUse = true;
                        c.peerPrincipal = SidecarPlane.sessionSpiffeId(c.ssl.engine().getSession());
                        ex.onConnection(c);
                    } else {
                        LOG.debugf("cluster %s: TLS handshake with %s failed: %s", u.spec().name(), ep.hostPort(),
                                hs.cause() == null ? "closed" : hs.cause().getMessage());
                        String reason = ExchangeRecord.transportFailureReason(hs.cause());
                        ex.transportFailure = reason != null ? reason : "TLS_error: handshake failed";
                        c.channel.close();
                        ex.onConnectFailure();
                    }
                });
            }
        });
    }

    /** The exchange is done with {@code c}: pooled when {@code reusable}, else closed; a waiter gets it first. */
    void release(FastUpstreamConnection c, boolean reusable) {
        release(c, reusable, System.nanoTime());
    }

    /** {@link #release(FastUpstreamConnection, boolean)} at {@code nowNanos}, a clock value the caller already read. */
    void release(FastUpstreamConnection c, boolean reusable, long nowNanos) {
        c.inUse = false;
        c.exchange = null;
        if (!reusable || closed || !c.channel.isActive() || nowNanos >= c.expiresAt) {
            c.channel.close();
            return;
        }
        PerCluster pc = clusters.get(c.upstream);
        FastExchange w = pc == null ? null : pc.waiters.poll();
        if (w != null) {
            if (w.endpoint == c.endpoint) {
                c.inUse = true;
                w.onConnection(c);
                return;
            }
            c.channel.close();
            connect(w, c.upstream, w.endpoint, pc, c.channel.getClass());
            return;
        }
        c.idleSince = nowNanos;
        idle.computeIfAbsent(c.endpoint, k -> new ArrayDeque<>()).addLast(c);
    }

    /** A connection closed (either side): its slot is free; a waiter may connect. */
    void closed(FastUpstreamConnection c) {
        PerCluster pc = clusters.get(c.upstream);
        if (pc == null) {
            return;
        }
        pc.open--;
        ArrayDeque<FastUpstreamConnection> q = idle.get(c.endpoint);
        if (q != null) {
            q.remove(c);
            if (q.isEmpty()) {
                idle.remove(c.endpoint);
            }
        }
        if (pc.open <= 0 && pc.waiters.isEmpty()) {
            clusters.remove(c.upstream);
            return;
        }
        FastExchange w = pc.waiters.poll();
        if (w != null && !closed) {
            connect(w, c.upstream, w.endpoint, pc, c.channel.getClass());
        }
    }

    /** Shutdown: closes the idle connections (busy ones close when their exchange ends). */
    void close() {
        closed = true;
        loop.execute(() -> {
            // Collected first: a close removes the connection from the idle map at once.
            List<FastUpstreamConnection> all = new ArrayList<>();
            idle.values().forEach(all::addAll);
            all.forEach(c -> c.channel.close());
        });
    }
}
