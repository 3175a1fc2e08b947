package io.mesh.gateway.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.Test;

/**
 * The kernel's socket options, read back from real sockets after {@link TcpKeepalive#applyTo(Channel)}: SO_KEEPALIVE,
 * TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT on an epoll channel and on a NIO one; an option left at 0 keeps the
 * OS default.
 */
class TcpKeepaliveTest {

    @Test
    void anEpollChannelGetsKeepaliveAndItsThreeTimers() {
        assertTrue(Epoll.isAvailable(), "native epoll (the data plane's transport)");
        Channel ch = new EpollSocketChannel();
        try {
            new TcpKeepalive(3, 75, 10).applyTo(ch);
            assertEquals(true, ch.config().getOption(ChannelOption.SO_KEEPALIVE));
            assertEquals(75, ch.config().getOption(EpollChannelOption.TCP_KEEPIDLE));
            assertEquals(10, ch.config().getOption(EpollChannelOption.TCP_KEEPINTVL));
            assertEquals(3, ch.config().getOption(EpollChannelOption.TCP_KEEPCNT));
        } finally {
            ch.unsafe().closeForcibly();
        }
    }

    @Test
    void aNioChannelGetsThemThroughTheJdksExtendedOptionsAndZeroKeepsTheOsDefault() {
        Channel ch = new NioSocketChannel();
        try {
            int osIdle = ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE));
            new TcpKeepalive(0, 0, 9).applyTo(ch);
            assertEquals(true, ch.config().getOption(ChannelOption.SO_KEEPALIVE));
            assertEquals(osIdle, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE)));
            assertEquals(9, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL)));
        } finally {
            ch.unsafe().closeForcibly();
        }
    }
}
