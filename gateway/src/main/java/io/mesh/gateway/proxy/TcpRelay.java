package io.mesh.gateway.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.resolver.AddressResolverGroup;
import java.net.InetSocketAddress;
import org.jboss.logging.Logger;

/**
 * Envoy's tcp_proxy on Netty: the captured connection is joined to a new connection to {@code target}, made on the
 * same event loop, and bytes are passed on as they come (pooled buffers, never copied), one flush per read batch.
 * Backpressure: a side stops reading while the other cannot take more. When either side closes, the other is
 * flushed and closed.
 */
final class TcpRelay extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = Logger.getLogger(TcpRelay.class);

    private final Channel peer;

    private TcpRelay(Channel peer) {
        this.peer = peer;
    }

    /**
     * Connects to {@code target} (a name is resolved by {@code resolver}, off the event loop) and relays {@code down} to it; {@code first} (may be null) is what was already read
     * from {@code down}. {@code down} must not read until then (auto-read off); it is closed if the connect fails.
     */
    static void connect(Channel down, InetSocketAddress target, ByteBuf first, ChannelFactory<? extends Channel> channels,
            AddressResolverGroup<?> resolver, int connectTimeoutMs) {
        down.config().setAutoRead(false);
        new Bootstrap().group(down.eventLoop()).channelFactory(channels).resolver(resolver)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs)
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel up) {
                        up.pipeline().addLast("relay", new TcpRelay(down));
                    }
                })
                .connect(target).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        LOG.debugf("tcp_proxy to %s failed: %s", target, f.cause() == null ? "?" : f.cause().getMessage());
                        if (first != null) {
                            first.release();
                        }
                        down.close();
                        return;
                    }
                    Channel up = f.channel();
                    if (!down.isActive()) {
                        if (first != null) {
                            first.release();
                        }
                        up.close();
                        return;
                    }
                    down.pipeline().addLast("relay", new TcpRelay(up));
                    if (first != null) {
                        up.writeAndFlush(first);
                    }
                    up.config().setAutoRead(true);
                    down.config().setAutoRead(true);
                });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        peer.write(msg, peer.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
        if (!peer.isWritable()) {
            ctx.channel().config().setAutoRead(false);   // resumed by the peer's writability change
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            peer.config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (peer.isActive()) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debugf("tcp_proxy: %s", cause.getMessage());
        ctx.close();
    }
}
