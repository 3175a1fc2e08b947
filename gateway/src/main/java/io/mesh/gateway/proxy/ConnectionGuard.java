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
    private final long timeoutNanos;
    /**
     * The one pending check, or null. Disarming does not cancel it and arming again does not schedule another:
     * when it runs it closes the connection if the head is overdue, schedules itself for the current deadline if
     * the guard was armed again since, or ends if the guard is disarmed. So a keep-alive connection costs a
     * {@code System.nanoTime()} per request instead of a scheduled task made and cancelled per request.
     */
    private ScheduledFuture<?> timer;
    private boolean armed;
    private long deadline;
    private boolean betweenRequests;
    private boolean untimed;

    private ConnectionGuard(Channel channel, long timeoutMs) {
        this.channel = channel;
        this.timeoutMs = timeoutMs;
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    }

    /** Installs the guard on a just-accepted channel and starts the clock. {@code timeoutMs} 0 = no timer. */
    static void install(Channel channel, long timeoutMs) {
        ConnectionGuard g = new ConnectionGuard(channel, timeoutMs);
        channel.attr(KEY).set(g);
        channel.pipeline().addFirst("mesh-request-header-timeout", g);
        g.arm();
    }

    private void arm() {
        if (timeoutMs <= 0 || armed) {
            return;
        }
        armed = true;
        deadline = System.nanoTime() + timeoutNanos;
        if (timer == null) {
            timer = channel.eventLoop().schedule(this::check, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void disarm() {
        armed = false;
    }

    private void check() {
        timer = null;
        if (!armed || !channel.isActive()) {
            return;
        }
        long left = deadline - System.nanoTime();
        if (left > 0) {
            timer = channel.eventLoop().schedule(this::check, left, TimeUnit.NANOSECONDS);
            return;
        }
        armed = false;
        LOG.debugf("closing %s: no complete request head within %d ms", channel.remoteAddress(), timeoutMs);
        channel.close();
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
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        ctx.fireChannelInactive();
    }

    private static ConnectionGuard of(HttpConnection conn) {
        if (conn instanceof ConnectionBase base) {
            return base.channel().attr(KEY).get();
        }
        return null;
    }

    /** The guard of an accepted channel, or null (looked up once per connection by the fast path). */
    static ConnectionGuard of(Channel channel) {
        return channel.attr(KEY).get();
    }

    /** The fast path's variant of {@link #headDone(HttpConnection, boolean)}: a plain HTTP/1.1 head is complete. */
    void headDone() {
        disarm();
        betweenRequests = false;
    }

    /** The fast path's variant of {@link #idle(HttpConnection)}. */
    void idle() {
        if (!untimed) {
            betweenRequests = true;
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
