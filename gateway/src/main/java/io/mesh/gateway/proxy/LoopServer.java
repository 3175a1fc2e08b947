package io.mesh.gateway.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.impl.VertxInternal;
import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * A plain Netty server on some of the data plane's Vert.x event loops, for the listeners that are not HTTP servers
 * (capture listeners, a router's TCP listeners): it binds, hands each accepted channel to its owner, and closes the
 * channels it accepted when it closes.
 */
final class LoopServer {
    private final ChannelGroup accepted = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private volatile Channel server;

    /**
     * Binds on {@code eventLoops} of Vert.x's event loops (accepted connections are spread over them); with
     * {@code reusePort}, SO_REUSEPORT (native transport only), so that another socket of this proxy may bind the same port
     * on another address.
     */
    Future<Void> start(VertxInternal vertx, int eventLoops, String host, int port, boolean reusePort,
            Consumer<Channel> accept) {
        Promise<Void> bound = Promise.promise();
        ServerBootstrap bootstrap = new ServerBootstrap();
        if (reusePort && vertx.isNativeTransportEnabled()) {
            bootstrap.option(io.netty.channel.unix.UnixChannelOption.SO_REUSEPORT, true);
        }
        bootstrap
                .group(vertx.getAcceptorEventLoopGroup(), new LoopSubset(vertx.nettyEventLoopGroup(), eventLoops))
                .channelFactory(vertx.transport().serverChannelFactory(false))
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.add(ch);
                        accept.accept(ch);
                    }
                })
                .bind(host, port).addListener((ChannelFutureListener) f -> {
                    if (f.isSuccess()) {
                        server = f.channel();
                        bound.complete();
                    } else {
                        bound.fail(f.cause());
                    }
                });
        return bound.future();
    }

    int actualPort() {
        Channel s = server;
        return s == null ? -1 : ((InetSocketAddress) s.localAddress()).getPort();
    }

    /** Stops accepting and closes the connections it accepted. */
    Future<Void> close() {
        Channel s = server;
        Promise<Void> closed = Promise.promise();
        if (s == null) {
            closed.complete();
            return closed.future();
        }
        s.close().addListener(f -> accepted.close().addListener(g -> closed.complete()));
        return closed.future();
    }
}
