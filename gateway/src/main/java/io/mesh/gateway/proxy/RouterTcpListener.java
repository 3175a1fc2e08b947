package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.upstream.Upstream;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.impl.VertxInternal;
import java.net.InetSocketAddress;
import org.jboss.logging.Logger;

/**
 * A router's TCP listener (a Gateway's TCP server, or its TLS server in PASSTHROUGH mode): a Netty server on the data
 * plane's event loops that relays each connection ({@link TcpRelay}) to an endpoint of its filter chain's cluster.
 * When a chain names server names, the TLS ClientHello's SNI picks the chain (the TLS stream itself passes through
 * untouched, as Envoy's tls_inspector and filter_chain_match do); a connection no chain takes is closed.
 */
final class RouterTcpListener {

    private static final Logger LOG = Logger.getLogger(RouterTcpListener.class);
    private static final int CONNECT_TIMEOUT_MS = 10_000;

    private final DataPlane plane;
    final String bindHost;
    final int bindPort;
    volatile ListenerSpec spec;
    private final ChannelGroup accepted = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private volatile Channel server;

    RouterTcpListener(DataPlane plane, ListenerSpec spec, String bindHost, int bindPort) {
        this.plane = plane;
        this.spec = spec;
        this.bindHost = bindHost;
        this.bindPort = bindPort;
    }

    Future<Void> start(int eventLoops) {
        VertxInternal vertx = (VertxInternal) plane.vertx();
        Promise<Void> bound = Promise.promise();
        new ServerBootstrap()
                .group(vertx.getAcceptorEventLoopGroup(), new LoopSubset(vertx.nettyEventLoopGroup(), eventLoops))
                .channelFactory(vertx.transport().serverChannelFactory(false))
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.add(ch);
                        accept(ch);
                    }
                })
                .bind(bindHost, bindPort).addListener((ChannelFutureListener) f -> {
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

    /** Stops accepting and closes the connections this listener accepted. */
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

    private void accept(Channel ch) {
        ListenerSpec s = spec;
        if (plane.draining() || s.chains().stream().allMatch(c -> c.serverNames().isEmpty())) {
            relay(ch, plane.draining() ? null : s.chains().get(0));
            return;
        }
        // Read the ClientHello's SNI (a stream that is not TLS has none), then hand the bytes read to the relay.
        ch.pipeline().addLast("sni", new AbstractSniHandler<Object>() {
            @Override
            protected io.netty.util.concurrent.Future<Object> lookup(ChannelHandlerContext ctx, String hostname) {
                return ctx.executor().newSucceededFuture(null);
            }

            @Override
            protected void onLookupComplete(ChannelHandlerContext ctx, String hostname,
                    io.netty.util.concurrent.Future<Object> future) {
                FilterChainSpec chain = spec.chainFor(hostname);
                if (chain == null) {
                    LOG.debugf("%s: no filter chain for SNI %s", spec.name(), hostname);
                }
                if (relay(ctx.channel(), chain)) {
                    ctx.pipeline().remove(this);   // what it read goes on to the relay, which holds it until connected
                }
            }
        });
    }

    /** Relays to an endpoint of the chain's cluster; false (the connection closed) when there is none. */
    private boolean relay(Channel ch, FilterChainSpec chain) {
        String cluster = chain == null ? null : chain.pickTcpCluster();
        Upstream u = cluster == null ? null : plane.active().upstreams().get(cluster);
        var ep = u == null ? null : u.pick(Long.MIN_VALUE, null);
        if (ep == null) {
            LOG.debugf("%s: tcp_proxy: no endpoint for cluster %s", spec.name(), cluster);
            ch.close();
            return false;
        }
        io.netty.handler.ssl.SslContext tls = null;
        String sni = null;
        if (u.spec().tls() != null) {
            try {
                tls = u.nettyTls();
            } catch (javax.net.ssl.SSLException | RuntimeException e) {
                LOG.warnf("tcp_proxy: cluster %s: TLS does not load: %s", cluster, e.getMessage());
                ch.close();
                return false;
            }
            sni = u.spec().tls().sni();
        }
        VertxInternal vertx = (VertxInternal) plane.vertx();
        io.vertx.core.net.SocketAddress target = ep.address();
        String host = target.hostAddress() != null ? target.hostAddress() : target.host();
        TcpRelay.connect(ch, InetSocketAddress.createUnresolved(host, target.port()), null, tls,
                sni == null || sni.isEmpty() ? null : sni,
                () -> plane.tcpMeters(false, cluster, null, RequestLog.serviceHost(cluster)),
                vertx.transport().channelFactory(false), vertx.nettyAddressResolverGroup(), CONNECT_TIMEOUT_MS);
        return true;
    }
}
