package io.mesh.gateway.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * tcp_proxy's {@code idle_timeout} for one relayed connection (Envoy's TcpProxy idle timer): once neither side has moved
 * a byte for the timeout, both sides are closed at once, what is queued unsent dropped (Envoy's {@code NoFlush}), and
 * no response flag is set (Envoy sets none for it, only its {@code idle_timeout} stat). A byte moved is one a side read,
 * or one a side's pending output gave to its socket; a half-close is no byte, so a connection one side has half-closed
 * still times out when nothing else moves.
 *
 * <p>Cost: reading only stamps the time ({@link #active}); one check per connection is scheduled on its event loop and,
 * when it finds activity, re-armed for the time left, so the timer is never reset per read. Progress of pending output
 * (a peer draining slowly while its side is paused by backpressure) is seen at a check by the pending byte count having
 * changed since the last one, and at each writability change. Everything here runs on the two channels' one event
 * loop: no field is shared with another thread.
 */
final class TcpIdleTimer implements Runnable {

    private static final Logger LOG = Logger.getLogger(TcpIdleTimer.class);

    private final Channel down;
    private final Channel up;
    private final long timeoutNanos;
    private long lastActive;
    private long pendingDown;
    private long pendingUp;
    private ScheduledFuture<?> check;

    private TcpIdleTimer(Channel down, Channel up, long timeoutNanos) {
        this.down = down;
        this.up = up;
        this.timeoutNanos = timeoutNanos;
    }

    /**
     * Times out the connection between {@code down} and {@code up} (both connected, on one event loop; call there)
     * after {@code timeoutMs} without a byte moved; null (no timer) when {@code timeoutMs} is 0: disabled.
     */
    static TcpIdleTimer start(Channel down, Channel up, long timeoutMs) {
        if (timeoutMs <= 0) {
            return null;
        }
        TcpIdleTimer t = new TcpIdleTimer(down, up, TimeUnit.MILLISECONDS.toNanos(timeoutMs));
        t.lastActive = System.nanoTime();
        t.pendingDown = pending(down);
        t.pendingUp = pending(up);
        t.check = down.eventLoop().schedule(t, t.timeoutNanos, TimeUnit.NANOSECONDS);
        // A closed connection's check must not keep it (and its channels) referenced until it would have fired.
        down.closeFuture().addListener(f -> t.check.cancel(false));
        up.closeFuture().addListener(f -> t.check.cancel(false));
        return t;
    }

    /** A byte moved: a side read, or a side's pending output drained. */
    void active() {
        lastActive = System.nanoTime();
    }

    @Override
    public void run() {
        if (!down.isActive() || !up.isActive()) {
            return;   // closing: the relay closes the other side too
        }
        long now = System.nanoTime();
        long pd = pending(down);
        long pu = pending(up);
        if (pd != pendingDown || pu != pendingUp) {
            pendingDown = pd;
            pendingUp = pu;
            lastActive = now;   // output moved since the last check
        }
        long idle = now - lastActive;
        if (idle >= timeoutNanos) {
            LOG.debugf("tcp_proxy: idle for %d ms, closing %s and %s", TimeUnit.NANOSECONDS.toMillis(idle),
                    down.remoteAddress(), up.remoteAddress());
            down.close();
            up.close();
            return;
        }
        check = down.eventLoop().schedule(this, timeoutNanos - idle, TimeUnit.NANOSECONDS);
    }

    /** The bytes queued on {@code ch} not yet given to its socket (0 once it is closed). */
    private static long pending(Channel ch) {
        ChannelOutboundBuffer b = ch.unsafe().outboundBuffer();
        return b == null ? 0 : b.totalPendingWriteBytes();
    }
}
