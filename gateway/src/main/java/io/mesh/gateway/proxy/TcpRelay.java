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
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Queue;
import org.jboss.logging.Logger;

/**
 * Envoy's tcp_proxy on Netty: the captured connection is joined to a new connection to {@code target}, made on the
 * same event loop, and bytes are passed on as they come (pooled buffers, never copied), one flush per read batch.
 * The upstream side may originate TLS (a cluster's mesh mTLS); the downstream side may already terminate it (an
 * {@code SslHandler} the caller put first in its pipeline). What the downstream sends before the upstream connection
 * is up (its first bytes, or data a TLS handshake read) is held and sent first. Backpressure: a side stops reading
 * while the other cannot take more. When either side closes, the other is flushed and closed.
 *
 * <p>Half-close, as Envoy's tcp_proxy: when the downstream channel allows half closure ({@link #allowHalfClose}: a
 * router's TCP listeners, a sidecar's captured TCP connections, mTLS or not), a side's end of input is passed on to
 * the other side once what it sent is flushed, and the other direction stays open: a client that sends its request
 * and shuts down still gets the answer. A side's end of input is its FIN, or on a TLS side its close_notify
 * ({@link SslCloseCompletionEvent}); it is passed on as a FIN ({@code shutdownOutput}) to a plaintext side, and as a
 * close_notify ({@link SslHandler#closeOutbound}, which keeps the connection open for reading, as Envoy's
 * {@code SSL_shutdown} on end_stream) to a TLS side. Both are closed once both directions are done, and at once on
 * an error or a reset. A peer that never ends keeps the other direction open, as a connection that never
 * half-closes does, until tcp_proxy's {@code idle_timeout} ({@link TcpIdleTimer}) closes both for want of a byte moved.
 *
 * <p>A TLS side's engine must go on sending after the close_notify it received. TLS 1.3 allows it (RFC 8446 6.1),
 * and so does the JDK's engine there (its {@code TransportContext} answers a close_notify with its own only below
 * TLS 1.3, unless {@code jdk.tls.acknowledgeCloseNotify}); TLS 1.2 does not (RFC 5246 7.2.1: answer with a
 * close_notify, the JDK's engine does so and closes its outbound), and netty-tcnative's engine (Netty 4.1.133)
 * answers and closes on every version ({@code ReferenceCountedOpenSslEngine} closes its outbound with its inbound
 * when it reads a close_notify), though BoringSSL itself (Envoy's) refuses to write only after its own close_notify.
 * Netty's {@code SslHandler} itself closes nothing on a close_notify: it fires {@link SslCloseCompletionEvent}. So a
 * relay's TLS is the JDK's ({@link #TLS_PROVIDER}; Istio's mesh SNI through {@code JdkMeshSni}), and a side whose
 * engine has closed for writing (a TLS 1.2 peer; netty-tcnative where the JDK's server cannot take the mesh SNI)
 * ends both directions, flushed, as before. After its own close_notify the JDK's engine reads on (TLS 1.3, tested);
 * whether the answer comes is the peer's to decide (a TLS 1.2 peer answers with a close_notify and closes).
 */
final class TcpRelay extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = Logger.getLogger(TcpRelay.class);

    private Channel peer;
    /** This side ended its input (FIN, or close_notify on TLS); passed on to the peer once. */
    private boolean inputEnded;
    /** This side ended its input before the peer was connected: pass that on once it is. */
    private boolean inputShutdownHeld;
    /** Read before {@link #peer} was connected (downstream side only); null once it is. */
    private Queue<Object> held;
    /** Istio's TCP meters of the connection, or null: counts what this side reads. */
    private TcpTally tally;
    /** This side is the downstream one: what it reads is Istio's received bytes (else its sent bytes). */
    private final boolean downstream;
    /** The connection's idle timeout (shared by both sides, once connected), or null: none (yet). */
    private TcpIdleTimer idle;
    /** The connection's access log line (shared by both sides), or null: its chain has no access log. */
    private TcpAccessLog log;

    private TcpRelay(Channel peer) {
        this.peer = peer;
        this.downstream = peer == null;
        this.held = peer == null ? new ArrayDeque<>() : null;
    }

    /**
     * TLS originated to the upstream: {@code context}, the SNI to send (null: none), and this proxy's side of Istio's
     * metadata exchange ({@link PeerExchange#frame}) when the cluster has the exchange filter (null: none).
     */
    record Origination(SslContext context, String sni, byte[] exchange) {
    }

    /**
     * Relays {@code down} to {@code target} (a name is resolved by {@code resolver}, off the event loop), with TLS to
     * it when {@code upstreamTls} is set ({@code sni} sent when not null), once {@code ready} (e.g. the downstream's TLS
     * handshake) has succeeded and {@code allowed} (e.g. RBAC with the peer's identity) then says yes; otherwise
     * {@code down} is closed and nothing is connected. Until then, what {@code down} sends is held. {@code first} (may
     * be null) is what was already read from {@code down}; it goes through {@code down}'s pipeline again (through its
     * TLS, if any). {@code meters} (may give null) counts the connection and its bytes as Istio's TCP metrics, chosen
     * once the peer that names them is known ({@link TcpTally}): with {@code downstreamPeer} (a sidecar's inbound
     * side), once the downstream's metadata exchange is done; else with TLS to the upstream, once its handshake (and
     * metadata exchange) is done; else once allowed. Once connected, both are closed after {@code timeouts}' idle time
     * without a byte moved (0: never), and from now on, after its maximum duration (0: never). {@code log} (null: none)
     * is the connection's access log line: it counts the bytes, the upstream host and the flags. Call on {@code down}'s
     * event loop.
     */
    static void connectWhen(Channel down, io.netty.util.concurrent.Future<?> ready, java.util.function.BooleanSupplier allowed,
            InetSocketAddress target, ByteBuf first, Origination upstreamTls, TcpTally.Meters meters,
            io.netty.util.concurrent.Future<PeerWorkload> downstreamPeer, ChannelFactory<? extends Channel> channels,
            AddressResolverGroup<?> resolver, int connectTimeoutMs, TcpTimeouts timeouts, TcpAccessLog log) {
        TcpRelay downSide = new TcpRelay(null);
        downSide.log = log;
        down.config().setAutoRead(false);
        down.pipeline().addLast("relay", downSide);
        timeouts.limitDuration(down, () -> downSide.peer, log == null ? null : () -> log.flag(ResponseFlag.DT));
        if (first != null) {
            down.pipeline().fireChannelRead(first);
            down.pipeline().fireChannelReadComplete();
        }
        ready.addListener(r -> {
            if (!r.isSuccess() || !allowed.getAsBoolean()) {
                downSide.releaseHeld();
                down.close();
                return;
            }
            TcpTally tally = new TcpTally(meters);
            tally.log = log;
            down.closeFuture().addListener(f -> tally.closed());
            // What was read before this point (the first bytes, data a TLS handshake read) is counted as it is sent.
            downSide.tally = tally;
            downSide.countHeld();
            if (downstreamPeer != null) {
                downstreamPeer.addListener(f -> tally.choose((PeerWorkload) f.getNow(), null));
            } else if (upstreamTls == null) {
                tally.choose(null, null);
            }
            dial(down, downSide, target, upstreamTls, tally, downstreamPeer == null, channels, resolver, connectTimeoutMs,
                    timeouts.idleMs(), log);
        });
    }

    static final int CONNECT_TIMEOUT_MS = 10_000;

    /**
     * The TLS engine of every TLS a relay has on a side (a cluster's TLS, mesh mTLS a sidecar's TCP chain or a router's
     * TLS server terminates), whatever {@code mesh.gateway.tls-engine} says: the JDK's. netty-tcnative's engine (Netty
     * 4.1) answers a received close_notify with its own and closes for writing, so the other direction could not go on.
     */
    static final io.netty.handler.ssl.SslProvider TLS_PROVIDER = io.netty.handler.ssl.SslProvider.JDK;

    /**
     * A tcp_proxy to {@code cluster}: to an endpoint the cluster picks (to {@code original}, the captured connection's
     * destination, for an ORIGINAL_DST cluster or when {@code cluster} is null: passthrough; at the cluster's
     * {@code upstream_port_override} if it has one), originating the
     * cluster's TLS (auto mTLS to mesh endpoints) when it has one. A cluster that is missing, has no endpoint (e.g.
     * BlackHoleCluster under REGISTRY_ONLY) or whose TLS does not load closes {@code ch}. Returns whether it relays.
     * {@code timeouts}: the tcp_proxy's idle timeout and maximum duration. {@code meters}: outbound, of the upstream peer
     * ({@link #connectWhen}). {@code log}: the connection's access log line (null: none), which says why when it is not
     * relayed (NR: no such cluster, UH: no endpoint).
     */
    static boolean toCluster(DataPlane plane, Channel ch, String cluster, io.vertx.core.net.SocketAddress original,
            ByteBuf first, TcpTally.Meters meters, TcpTimeouts timeouts, TcpAccessLog log) {
        return toCluster(plane, ch, cluster, original, first, ch.eventLoop().newSucceededFuture(null), () -> true, meters,
                timeouts, log);
    }

    /**
     * {@link #toCluster}, connecting once {@code ready} (e.g. the downstream's TLS handshake, which a gateway's TLS
     * server terminates) has succeeded; until then what {@code ch} sends is held, and if it fails {@code ch} is closed.
     */
    static boolean toClusterWhen(DataPlane plane, Channel ch, String cluster, io.netty.util.concurrent.Future<?> ready,
            java.util.function.BooleanSupplier allowed, TcpTally.Meters meters, TcpTimeouts timeouts, TcpAccessLog log) {
        return toCluster(plane, ch, cluster, null, null, ready, allowed, meters, timeouts, log);
    }

    private static boolean toCluster(DataPlane plane, Channel ch, String cluster, io.vertx.core.net.SocketAddress original,
            ByteBuf first, io.netty.util.concurrent.Future<?> ready, java.util.function.BooleanSupplier allowed,
            TcpTally.Meters meters, TcpTimeouts timeouts, TcpAccessLog log) {
        if (log != null) {
            log.cluster(cluster != null ? cluster : "InboundPassthroughCluster");
        }
        io.vertx.core.net.SocketAddress target = original;
        Origination tls = null;
        io.mesh.gateway.upstream.TcpKeepalive keepalive = null;
        io.mesh.gateway.upstream.Upstream u = null;
        if (cluster != null) {
            u = plane.active().upstreams().get(cluster);
            keepalive = u == null ? null : u.spec().keepalive();
            var ep = u == null || u.spec().lbPolicy() == io.mesh.gateway.upstream.LbPolicy.ORIGINAL_DST ? null
                    : u.pick(Long.MIN_VALUE, null);
            if (ep != null) {
                target = ep.address();
            } else if (u == null || original == null || u.spec().lbPolicy() != io.mesh.gateway.upstream.LbPolicy.ORIGINAL_DST) {
                LOG.debugf("tcp_proxy: no endpoint for cluster %s", cluster);
                if (log != null) {
                    log.flag(u == null ? ResponseFlag.NR : ResponseFlag.UH);
                }
                close(ch, first);
                return false;
            } else if (u.spec().originalDstPort(original.port()) != original.port()) {
                target = io.vertx.core.net.SocketAddress.inetSocketAddress(u.spec().originalDstPort(original.port()),
                        original.hostAddress() != null ? original.hostAddress() : original.host());
            }
            var endpointTls = u.tls(ep);   // ep null: an original destination (no match metadata)
            if (endpointTls != null) {
                SslContext context;
                try {
                    context = u.relayTls(TLS_PROVIDER, ep);
                } catch (javax.net.ssl.SSLException | RuntimeException e) {
                    LOG.warnf("tcp_proxy: cluster %s: TLS does not load: %s", cluster, e.getMessage());
                    close(ch, first);
                    return false;
                }
                String sni = endpointTls.sni();
                tls = new Origination(context, sni == null || sni.isEmpty() ? null : sni,
                        endpointTls.peerExchange() ? plane.peerExchangeFrame() : null);
            }
        }
        if (target == null) {
            close(ch, first);
            return false;
        }
        if (u != null) {
            if (!u.tryAcquireTcpConnection()) {
                LOG.debugf("tcp_proxy: cluster %s: max_connections reached", cluster);
                if (log != null) {
                    log.flag(ResponseFlag.UO);
                }
                close(ch, first);
                return false;
            }
            io.mesh.gateway.upstream.Upstream counted = u;
            ch.closeFuture().addListener(f -> counted.releaseTcpConnection());
        }
        io.vertx.core.impl.VertxInternal vertx = (io.vertx.core.impl.VertxInternal) plane.vertx();
        String host = target.hostAddress() != null ? target.hostAddress() : target.host();
        ChannelFactory<? extends Channel> channels = vertx.transport().channelFactory(false);
        if (keepalive != null) {
            // The cluster's upstream_connection_options.tcp_keepalive, on the upstream socket before it connects.
            io.mesh.gateway.upstream.TcpKeepalive k = keepalive;
            ChannelFactory<? extends Channel> plain = channels;
            channels = () -> {
                Channel up = plain.newChannel();
                k.applyTo(up);
                return up;
            };
        }
        connectWhen(ch, ready, allowed, InetSocketAddress.createUnresolved(host, target.port()), first, tls, meters, null,
                channels, vertx.nettyAddressResolverGroup(), CONNECT_TIMEOUT_MS, timeouts, log);
        return true;
    }

    private static void close(Channel ch, ByteBuf first) {
        if (first != null) {
            first.release();
        }
        ch.close();
    }

    private void countHeld() {
        for (Object m : held) {
            if (m instanceof ByteBuf b) {
                tally.received(b.readableBytes());
            }
        }
    }

    /**
     * Connects to {@code target}; with {@code upstreamTls}, its TLS (and the metadata exchange, when the cluster has it)
     * first. {@code upstreamChooses}: the tally's meters are chosen once that handshake and exchange are done (the
     * upstream's identity and workload name the destination).
     */
    private static void dial(Channel down, TcpRelay downSide, InetSocketAddress target, Origination upstreamTls,
            TcpTally tally, boolean upstreamChooses, ChannelFactory<? extends Channel> channels,
            AddressResolverGroup<?> resolver, int connectTimeoutMs, long idleTimeoutMs, TcpAccessLog log) {
        if (log != null) {
            log.upstreamHost(target.getHostString() + ":" + target.getPort());
        }
        new Bootstrap().group(down.eventLoop()).channelFactory(channels).resolver(resolver)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE,
                        Boolean.TRUE.equals(down.config().getOption(ChannelOption.ALLOW_HALF_CLOSURE)))
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel up) {
                        if (upstreamTls != null) {
                            String sni = upstreamTls.sni();
                            SslHandler ssl = sni == null ? upstreamTls.context().newHandler(up.alloc())
                                    : upstreamTls.context().newHandler(up.alloc(), sni, target.getPort());
                            io.mesh.gateway.tls.JdkMeshSni.request(ssl.engine(), sni);   // the JDK's sends no mesh SNI itself
                            up.pipeline().addLast("ssl", ssl);
                            if (log != null) {
                                // Envoy's: a failed handshake is a failed upstream connection, and says why.
                                ssl.handshakeFuture().addListener(h -> {
                                    if (!h.isSuccess()) {
                                        String reason = ExchangeRecord.transportFailureReason(h.cause());
                                        log.flag(ResponseFlag.UF);
                                        log.transportFailure(reason != null ? reason : "TLS_error: handshake failed");
                                    } else {
                                        log.upstreamTls(ssl);
                                    }
                                });
                            }
                            if (upstreamTls.exchange() != null) {
                                PeerExchange mx = new PeerExchange(upstreamTls.exchange(), up.eventLoop().newPromise());
                                up.pipeline().addLast("mx", mx);
                                if (upstreamChooses) {
                                    mx.peer().addListener(f -> tally.choose((PeerWorkload) f.getNow(), principal(ssl)));
                                }
                            } else if (upstreamChooses) {
                                ssl.handshakeFuture().addListener(h -> tally.choose(null, h.isSuccess() ? principal(ssl) : null));
                            }
                        }
                        TcpRelay upSide = new TcpRelay(down);
                        upSide.tally = tally;
                        upSide.log = log;
                        up.pipeline().addLast("relay", upSide);
                    }
                })
                .connect(target).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        LOG.debugf("tcp_proxy to %s failed: %s", target, f.cause() == null ? "?" : f.cause().getMessage());
                        if (log != null) {
                            log.flag(ResponseFlag.UF);
                        }
                        downSide.releaseHeld();
                        down.close();
                        return;
                    }
                    Channel up = f.channel();
                    if (!down.isActive()) {
                        downSide.releaseHeld();
                        up.close();
                        return;
                    }
                    if (log != null) {
                        log.upstreamLocal(up.localAddress());
                    }
                    downSide.connected(down, up);
                    TcpIdleTimer idle = TcpIdleTimer.start(down, up, idleTimeoutMs);
                    downSide.idle = idle;
                    TcpRelay upSide = up.pipeline().get(TcpRelay.class);
                    if (upSide != null) {
                        upSide.idle = idle;
                    }
                    up.config().setAutoRead(true);
                    down.config().setAutoRead(true);
                });
    }

    /** The SPIFFE ID the upstream's certificate verified under (Istio's {@code destination_principal}), or null. */
    private static String principal(SslHandler ssl) {
        return SidecarPlane.sessionSpiffeId(ssl.engine().getSession());
    }

    private void connected(Channel down, Channel up) {
        peer = up;
        Queue<Object> q = held;
        held = null;
        for (Object m; (m = q.poll()) != null;) {
            up.write(m, up.voidPromise());
        }
        up.flush();
        if (inputShutdownHeld) {
            passInputShutdown(down, up);
        }
    }

    /** Lets a downstream channel's FIN be passed on as a half-close instead of closing the connection. */
    static void allowHalfClose(Channel down) {
        down.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    }

    private void releaseHeld() {
        Queue<Object> q = held;
        if (q != null) {
            for (Object m; (m = q.poll()) != null;) {
                ReferenceCountUtil.release(m);
            }
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (tally != null && msg instanceof ByteBuf b) {
            if (downstream) {
                tally.received(b.readableBytes());
            } else {
                tally.sent(b.readableBytes());
            }
        }
        if (log != null && msg instanceof ByteBuf b) {
            if (downstream) {
                log.received(b.readableBytes());
            } else {
                log.sent(b.readableBytes());
            }
        }
        if (idle != null) {
            idle.active();
        }
        if (held != null) {
            held.add(msg);
            return;
        }
        peer.write(msg, peer.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (peer == null) {
            return;
        }
        peer.flush();
        if (!peer.isWritable()) {
            ctx.channel().config().setAutoRead(false);   // resumed by the peer's writability change
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (idle != null) {
            idle.active();   // this side's pending output drained (or grew): bytes moved
        }
        if (peer != null && ctx.channel().isWritable()) {
            peer.config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent c && c.isSuccess()) {
            // The side's end of input: a FIN, or on TLS its close_notify (Envoy's end_stream from the TLS socket).
            if (inputEnded) {
                return;   // a close_notify then the FIN: one end
            }
            inputEnded = true;
            if (held != null) {
                inputShutdownHeld = true;   // passed on once the upstream is connected
            } else {
                passInputShutdown(ctx.channel(), peer);
            }
            return;
        }
        if (evt instanceof SslCloseCompletionEvent c && !c.isSuccess()) {
            ctx.close();   // a broken close_notify: an error, both closed (channelInactive closes the peer)
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * {@code self} ended its input (FIN, or close_notify on TLS): once what it sent is flushed to {@code peer}, end the
     * peer's output (a FIN on plaintext, a close_notify on TLS, which keeps the connection open for reading), and the
     * other direction keeps flowing. Both are closed instead when both directions are done: the peer had already
     * ended its input, or {@code self} can no longer write (its TLS engine closed its outbound on the close_notify it
     * received: TLS 1.2, or netty-tcnative's engine, answer a close_notify with their own), or the peer is gone.
     */
    private static void passInputShutdown(Channel self, Channel peer) {
        TcpRelay peerSide = peer.pipeline().get(TcpRelay.class);
        boolean bothDone = peerSide != null && peerSide.inputEnded || !canWrite(self);
        if (!peer.isActive() || bothDone || !canHalfClose(peer)) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                peer.close();
                self.close();
            });
            return;
        }
        peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
            if (!f.isSuccess()) {
                peer.close();
                self.close();
                return;
            }
            SslHandler ssl = peer.pipeline().get(SslHandler.class);
            if (ssl != null) {
                // A close_notify, once the handshake is done (not one cut short), then a FIN, as Envoy's SSL_shutdown then
                // shutdown(SHUT_WR); SslHandler keeps the channel open for reading.
                ssl.handshakeFuture().addListener(h -> {
                    if (h.isSuccess()) {
                        ssl.closeOutbound().addListener(n -> {
                            if (n.isSuccess() && peer.isActive()) {
                                ((DuplexChannel) peer).shutdownOutput();
                            }
                        });
                    } else {
                        peer.close();
                        self.close();
                    }
                });
            } else {
                ((DuplexChannel) peer).shutdownOutput();
            }
        });
    }

    /** Whether {@code ch} can still send: its output not shut, and its TLS engine (if any) not closed for writing. */
    private static boolean canWrite(Channel ch) {
        if (!ch.isActive() || ch instanceof DuplexChannel d && d.isOutputShutdown()) {
            return false;
        }
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return true;
        }
        javax.net.ssl.SSLEngine engine = ssl.engine();
        // netty-tcnative's engine closes its outbound with the close_notify it receives, before its answer is flushed.
        return !engine.isOutboundDone()
                && !(engine instanceof io.netty.handler.ssl.ReferenceCountedOpenSslEngine && engine.isInboundDone());
    }

    /** Whether {@code ch}'s output can be ended on its own (a FIN, or a close_notify on TLS). */
    private static boolean canHalfClose(Channel ch) {
        return ch instanceof DuplexChannel && canWrite(ch);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseHeld();
        if (peer != null && peer.isActive()) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debugf("tcp_proxy: %s", cause.getMessage());
        ctx.close();
    }
}
