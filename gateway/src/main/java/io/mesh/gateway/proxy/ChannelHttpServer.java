package io.mesh.gateway.proxy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.HttpServerImpl;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.VertxInternal;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.impl.SslChannelProvider;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * Vert.x's HTTP server without a socket of its own: {@link #serve} sets up Vert.x's HTTP/1.x-or-h2c pipeline on a
 * channel that someone else accepted (a capture listener's), on that channel's event loop. Where the public API only
 * serves connections it accepted itself, this uses the same per-connection set-up ({@code childHandler}) that a
 * listening {@code HttpServerImpl} gives each accepted channel, with a context per event loop. TLS, when the
 * connection has it, is the caller's: an {@code SslHandler} already in the pipeline, which Vert.x then reports
 * ({@code isSSL()}, the peer's certificates) as for its own.
 */
final class ChannelHttpServer extends HttpServerImpl {

    private static final SocketAddress ORIGIN = SocketAddress.inetSocketAddress(0, "127.0.0.1");

    private final Map<EventLoop, BiConsumer<Channel, SslChannelProvider>> perLoop = new ConcurrentHashMap<>();

    /** {@code options} must not ask for TLS; set the request and connection handlers before the first {@link #serve}. */
    ChannelHttpServer(Vertx vertx, HttpServerOptions options) {
        super((VertxInternal) vertx, options);
        if (options.isSsl()) {
            throw new IllegalArgumentException("the channel's owner terminates TLS");
        }
    }

    /** Serves HTTP on {@code ch}; call on its event loop, then pass on any bytes already read from it. */
    void serve(Channel ch) {
        perLoop.computeIfAbsent(ch.eventLoop(), loop -> {
            ContextInternal context = vertx.createEventLoopContext(loop, null, Thread.currentThread().getContextClassLoader());
            return childHandler(context, ORIGIN, null);
        }).accept(ch, null);
    }
}
