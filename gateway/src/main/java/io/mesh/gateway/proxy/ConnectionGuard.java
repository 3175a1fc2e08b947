package io.mesh.gateway.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The request-header timeout (Envoy's {@code request_headers_timeout}), as the first handler of each accepted
 * channel: armed at accept, it closes a connection whose request head is not complete in time, however the bytes
 * trickle in (slowloris), and whether or not the TLS handshake or the h2c preface finished. The head's
 * completion disarms it ({@link #headDone}). On an HTTP/1.x keep-alive connection, the first byte after all
 * requests are done arms it again for the next head. HTTP/2 streams and upgraded connections (WebSocket) are
 * not timed after their first head. All state is touched on the channel's event loop only.
 */
final class ConnectionGuard extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = Logger.getLogger(ConnectionGuard.class);
    private static final AttributeKey<ConnectionGuard> KEY = AttributeKey.valueOf("mesh.gateway.connection-guard");

    private final Channel channel;
    private final long timeoutMs;
    private ScheduledFuture<?> timer;
    private boolean betweenRequests;
    private boolean untimed;

    private ConnectionGuard(Channel channel, long timeoutMs) {
        this.channel = channel;
        this.timeoutMs = timeoutMs;
    }

    /** Installs the guard on a just-accepted channel and starts the clock. {@code timeoutMs} 0 = no timer. */
    static void install(Channel channel, long timeoutMs) {
        ConnectionGuard g = new ConnectionGuard(channel, timeoutMs);
        channel.attr(KEY).set(g);
        channel.pipeline().addFirst("mesh-request-header-timeout", g);
        g.arm();
    }

    private void arm() {
        if (timeoutMs > 0 && timer == null) {
            timer = channel.eventLoop().schedule(this::expire, timeoutMs, TimeUnit.MILLISECONDS);
        }
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void expire() {
        timer = null;
        if (channel.isActive()) {
            LOG.debugf("closing %s: no complete request head within %d ms", channel.remoteAddress(), timeoutMs);
            channel.close();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (betweenRequests) {
            betweenRequests = false;
            arm();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
    }

    private static ConnectionGuard of(HttpConnection conn) {
        if (conn instanceof ConnectionBase base) {
            return base.channel().attr(KEY).get();
        }
        return null;
    }

    /** The fast path's variant of {@link #headDone(HttpConnection, boolean)}: a plain HTTP/1.1 head is complete. */
    static void headDone(Channel channel) {
        ConnectionGuard g = channel.attr(KEY).get();
        if (g != null) {
            g.disarm();
            g.betweenRequests = false;
        }
    }

    /** The fast path's variant of {@link #idle(HttpConnection)}. */
    static void idle(Channel channel) {
        ConnectionGuard g = channel.attr(KEY).get();
        if (g != null && !g.untimed) {
            g.betweenRequests = true;
        }
    }

    /** A request head is complete. {@code untimedFromNowOn}: HTTP/2, or an upgrade (nothing to time after it). */
    static void headDone(HttpConnection conn, boolean untimedFromNowOn) {
        ConnectionGuard g = of(conn);
        if (g != null) {
            g.disarm();
            g.betweenRequests = false;
            g.untimed |= untimedFromNowOn;
        }
    }

    /** No request in flight on the connection: its next byte starts a new head. */
    static void idle(HttpConnection conn) {
        ConnectionGuard g = of(conn);
        if (g != null && !g.untimed) {
            g.betweenRequests = true;
        }
    }
}
