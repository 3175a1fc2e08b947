package io.mesh.gateway.proxy;

import io.netty.channel.Channel;
import io.netty.handler.traffic.GlobalTrafficShapingHandler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.HttpServerImpl;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.VertxInternal;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.impl.SslChannelProvider;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Vert.x's HTTP server with a hook at accept, where the public API has none (Vert.x hands an HTTP/1.x connection
 * over only with its first request head): each accepted channel first takes a slot under the connection cap
 * (else it is closed at once) and gets its {@link ConnectionGuard}, then Vert.x sets up TLS and HTTP as usual.
 * Built on {@code HttpServerImpl}, which is what {@code vertx.createHttpServer} returns in Vert.x 4.5.
 */
final class GuardedHttpServer extends HttpServerImpl {

    private final DataPlane plane;
    private final long headerTimeoutMs;
    /** Runs on each accepted channel after Vert.x set it up (the fast path's installer), or null. */
    private final Consumer<Channel> afterSetup;

    GuardedHttpServer(Vertx vertx, HttpServerOptions options, DataPlane plane, long headerTimeoutMs) {
        this(vertx, options, plane, headerTimeoutMs, null);
    }

    GuardedHttpServer(Vertx vertx, HttpServerOptions options, DataPlane plane, long headerTimeoutMs,
            Consumer<Channel> afterSetup) {
        super((VertxInternal) vertx, options);
        this.plane = plane;
        this.headerTimeoutMs = headerTimeoutMs;
        this.afterSetup = afterSetup;
    }

    @Override
    protected BiConsumer<Channel, SslChannelProvider> childHandler(ContextInternal context, SocketAddress address,
            GlobalTrafficShapingHandler trafficShaping) {
        BiConsumer<Channel, SslChannelProvider> vertxSetup = super.childHandler(context, address, trafficShaping);
        return (channel, ssl) -> {
            if (!plane.acquireConnection()) {
                channel.close();
                return;
            }
            channel.closeFuture().addListener(f -> plane.releaseConnection());
            ConnectionGuard.install(channel, headerTimeoutMs);
            vertxSetup.accept(channel, ssl);
            if (afterSetup != null && channel.isOpen()) {
                afterSetup.accept(channel);
            }
        };
    }
}
