package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;
import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * A tcp_proxy's two timers for one relayed connection, as its chain sets them: {@code idle_timeout} ({@code idleMs}, 0:
 * none; see {@link TcpIdleTimer}) and {@code max_downstream_connection_duration} ({@code maxDurationMs}, 0: none).
 *
 * <p>The maximum duration is Envoy's TcpProxy connection duration timer: armed when the tcp_proxy takes the downstream
 * connection (Envoy's {@code onNewConnection}, before the upstream is dialled), one per connection on its event loop,
 * and cancelled when the downstream closes. When it fires both sides are closed at once, whatever they are doing and
 * with what is queued unsent dropped (Envoy closes with {@code NoFlush}); the connection counts in
 * {@code istio_tcp_connections_closed_total} as any other end, and with the DT response flag in its TCP access log
 * line ({@link TcpAccessLog}), as Envoy's.
 */
record TcpTimeouts(long idleMs, long maxDurationMs) {

    private static final Logger LOG = Logger.getLogger(TcpTimeouts.class);

    /** Envoy's defaults, for a connection no chain took (a passthrough): idle after 1h, no maximum duration. */
    static final TcpTimeouts DEFAULT = new TcpTimeouts(FilterChainSpec.TCP_IDLE_TIMEOUT_DEFAULT.toMillis(), 0);

    /** The timeouts of a chain's tcp_proxy ({@link #DEFAULT} for no chain). */
    static TcpTimeouts of(FilterChainSpec chain) {
        if (chain == null) {
            return DEFAULT;
        }
        return new TcpTimeouts(chain.tcpIdleTimeout().toMillis(),
                chain.tcpMaxConnectionDuration() == null ? 0 : chain.tcpMaxConnectionDuration().toMillis());
    }

    /**
     * Arms the maximum duration on {@code down} (call on its event loop, when the tcp_proxy takes it): when it passes,
     * {@code down} and the upstream {@code up} gives (null while it is not connected) are closed.
     */
    void limitDuration(Channel down, Supplier<Channel> up) {
        limitDuration(down, up, null);
    }

    /** {@link #limitDuration}, running {@code expired} (null: nothing) when it closes them. */
    void limitDuration(Channel down, Supplier<Channel> up, Runnable expired) {
        if (maxDurationMs <= 0) {
            return;
        }
        ScheduledFuture<?> timer = down.eventLoop().schedule(() -> {
            if (!down.isActive()) {
                return;
            }
            Channel upstream = up.get();
            LOG.debugf("tcp_proxy: max_downstream_connection_duration %d ms reached, closing %s", maxDurationMs,
                    down.remoteAddress());
            if (expired != null) {
                expired.run();
            }
            down.close();
            if (upstream != null) {
                upstream.close();
            }
        }, maxDurationMs, TimeUnit.MILLISECONDS);
        // A closed connection's timer must not keep it (and its channels) referenced until it would have fired.
        down.closeFuture().addListener(f -> timer.cancel(false));
    }
}
