package io.mesh.gateway.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.vertx.core.http.HttpClientOptions;
import jdk.net.ExtendedSocketOptions;

/**
 * A cluster's {@code upstream_connection_options.tcp_keepalive}: SO_KEEPALIVE on every upstream connection, with
 * TCP_KEEPCNT ({@code probes}), TCP_KEEPIDLE ({@code timeSeconds}) and TCP_KEEPINTVL ({@code intervalSeconds}); 0 leaves
 * the OS default (Envoy sets what is given; a 0 would be refused by the kernel, so it is not set here). Applied to the
 * Vert.x clients' options, and to the Netty channels of the fast path and of TCP relays, on epoll or NIO.
 */
public record TcpKeepalive(int probes, int timeSeconds, int intervalSeconds) {

    /** SO_KEEPALIVE with the OS defaults (an empty {@code tcp_keepalive}). */
    public static final TcpKeepalive OS_DEFAULTS = new TcpKeepalive(0, 0, 0);

    /**
     * The Vert.x HTTP client's connections: SO_KEEPALIVE from the start (Vert.x 4.5 applies the idle, interval and count
     * options to servers only; {@code Upstream} sets them on each new connection's channel).
     */
    public void applyTo(HttpClientOptions o) {
        o.setTcpKeepAlive(true);
        if (timeSeconds > 0) {
            o.setTcpKeepAliveIdleSeconds(timeSeconds);
        }
        if (intervalSeconds > 0) {
            o.setTcpKeepAliveIntervalSeconds(intervalSeconds);
        }
        if (probes > 0) {
            o.setTcpKeepAliveCount(probes);
        }
    }

    /**
     * A Netty channel, before it connects or once connected (an epoll channel's native options, else the JDK's
     * extended ones).
     */
    public void applyTo(Channel ch) {
        var c = ch.config();
        c.setOption(ChannelOption.SO_KEEPALIVE, true);
        if (ch instanceof EpollSocketChannel) {
            if (timeSeconds > 0) {
                c.setOption(EpollChannelOption.TCP_KEEPIDLE, timeSeconds);
            }
            if (intervalSeconds > 0) {
                c.setOption(EpollChannelOption.TCP_KEEPINTVL, intervalSeconds);
            }
            if (probes > 0) {
                c.setOption(EpollChannelOption.TCP_KEEPCNT, probes);
            }
        } else if (ch instanceof io.netty.channel.socket.nio.NioSocketChannel) {
            if (timeSeconds > 0) {
                c.setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), timeSeconds);
            }
            if (intervalSeconds > 0) {
                c.setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), intervalSeconds);
            }
            if (probes > 0) {
                c.setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), probes);
            }
        }
    }
}
