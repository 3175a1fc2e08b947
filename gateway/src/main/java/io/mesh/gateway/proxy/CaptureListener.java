package io.mesh.gateway.proxy;

import io.mesh.gateway.capture.OriginalDst;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.Future;
import io.vertx.core.impl.VertxInternal;
import io.vertx.core.net.SocketAddress;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import org.jboss.logging.Logger;

/**
 * One capture listener ({@code virtualOutbound} or {@code virtualInbound}): a Netty server on the data plane's
 * event loops that reads each redirected connection's original destination and serves it in place, on the channel
 * it accepted:
 * <ul>
 * <li>outbound to a service address and port with a tcp_proxy listener ({@code ADDRESS_PORT}, not bound): a TCP
 * proxy to its cluster, or to the cluster its chain for the ClientHello's SNI names;</li>
 * <li>outbound to a port with an HTTP listener ({@code 0.0.0.0_PORT}, not bound): the sidecar's outbound HTTP
 * server ({@link SidecarPlane#serveHttp}) runs on the channel;</li>
 * <li>outbound to a port with a tcp_proxy listener {@code 0.0.0.0_PORT}: the chain the destination's CIDR block
 * (a ServiceEntry's wider addresses), then the ClientHello's SNI (TLS services without an address) picks;</li>
 * <li>inbound to a port with filter chains: the first byte says TLS (0x16, a handshake record) or not, and the
 * chain whose match takes that transport decides: mesh mTLS terminated here then the inbound HTTP server, the
 * plaintext inbound HTTP server, or a TCP proxy; no chain (STRICT and a plaintext client) closes the connection;</li>
 * <li>anything else: a TCP proxy ({@link TcpRelay}) to the chain's cluster, for the passthrough cluster the
 * original destination (inbound, the workload on 127.0.0.1 at that port).</li>
 * </ul>
 * Nothing crosses a second socket: the captured connection is the HTTP connection.
 */
final class CaptureListener {

    private static final Logger LOG = Logger.getLogger(CaptureListener.class);

    private final SidecarPlane sidecar;
    final String bindHost;
    final int bindPort;
    volatile ListenerSpec spec;
    private final LoopServer server = new LoopServer();

    CaptureListener(SidecarPlane sidecar, ListenerSpec spec, String bindHost, int bindPort) {
        this.sidecar = sidecar;
        this.spec = spec;
        this.bindHost = bindHost;
        this.bindPort = bindPort;
    }

    /** Binds on {@code eventLoops} of Vert.x's event loops (accepted connections are spread over them). */
    Future<Void> start(int eventLoops) {
        return server.start((VertxInternal) sidecar.plane().vertx(), eventLoops, bindHost, bindPort, false, this::accept);
    }

    int actualPort() {
        return server.actualPort();
    }

    /** Stops accepting and closes the connections this listener accepted. */
    Future<Void> close() {
        return server.close();
    }

    private void accept(Channel ch) {
        SocketAddress original;
        try {
            original = originalDestination(ch);
        } catch (RuntimeException e) {
            LOG.debugf("%s: closing a connection from %s: %s", spec.name(), ch.remoteAddress(), e.getMessage());
            ch.close();
            return;
        }
        InetSocketAddress local = (InetSocketAddress) ch.localAddress();
        if (original.port() == actualPort() && local != null && original.hostAddress().equals(local.getAddress().getHostAddress())) {
            LOG.debugf("%s: closing a connection made to the capture port itself from %s", spec.name(), ch.remoteAddress());
            ch.close();
            return;
        }
        ListenerSpec s = spec;
        boolean inbound = inboundSide(s);
        if (sidecar.plane().draining(inbound)) {
            // This side drains (a terminating sidecar's inbound; everything at exit): no new connection.
            ch.close();
            return;
        }
        InetSocketAddress remote = (InetSocketAddress) ch.remoteAddress();
        Downstream downstream = new Downstream(inbound,
                SocketAddress.inetSocketAddress(remote.getPort(), remote.getAddress().getHostAddress()), original, null);
        if (!inbound) {
            ListenerSpec vip = tcpListener(original.hostAddress(), original.port());
            if (vip != null) {
                // A TCP service's VIP and port (istiod's ADDRESS_PORT listener): to its cluster, mTLS if the cluster says so.
                outboundTcp(ch, vip, original);
                return;
            }
            ListenerSpec http = httpListener(original.port());
            if (http != null) {
                sidecar.serveHttp(ch, new SidecarPlane.Handoff(downstream, http.name(), false), false, null);
                return;
            }
            ListenerSpec tls = tcpListener("0.0.0.0", original.port());
            if (tls != null) {
                // istiod's 0.0.0.0_PORT: by the destination's CIDR block, then SNI (TLS ports without an address).
                outboundTcp(ch, tls, original);
                return;
            }
            FilterChainSpec chain = s.chainFor(original.port(), false);
            if (chain == null || !chain.tcp()) {
                LOG.debugf("%s: no chain for port %d", s.name(), original.port());
                ch.close();
                return;
            }
            tcp(ch, chain, original, null, false);
            return;
        }
        if (!s.hasChainsFor(original.port())) {
            // A port no service declares: passed to the workload as is (Istio's inbound passthrough).
            tcp(ch, null, SocketAddress.inetSocketAddress(original.port(), "127.0.0.1"), null, true);
            return;
        }
        // A client that connects and sends nothing is closed after the request-header timeout, as an HTTP one would be.
        long timeoutMs = sidecar.plane().config().limits().requestHeaderTimeout().toMillis();
        var silent = timeoutMs <= 0 ? null : ch.eventLoop().schedule(() -> {
            if (ch.pipeline().get("sniff") != null) {
                LOG.debugf("%s: closing %s: nothing sent in %d ms", s.name(), ch.remoteAddress(), timeoutMs);
                ch.close();
            }
        }, timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS);
        ch.pipeline().addLast("sniff", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (silent != null) {
                    silent.cancel(false);
                }
                ctx.pipeline().remove(this);
                ByteBuf first = (ByteBuf) msg;
                boolean tls = first.isReadable() && first.getByte(first.readerIndex()) == 0x16;
                inboundChain(ch, s, original, downstream, tls, first);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                LOG.debugf("%s: %s: %s", s.name(), ch.remoteAddress(), cause.getMessage());
                ctx.close();
            }
        });
    }

    private void inboundChain(Channel ch, ListenerSpec s, SocketAddress original, Downstream downstream, boolean tls,
            ByteBuf first) {
        FilterChainSpec chain = s.chainFor(original.port(), tls);
        if (chain == null) {
            LOG.debugf("%s: refusing a %s connection to port %d from %s (no matching filter chain)", s.name(),
                    tls ? "TLS" : "plaintext", original.port(), ch.remoteAddress());
            first.release();
            ch.close();
        } else if (chain.tcp() && (!tls || !chain.tls())) {
            // Plaintext, or TLS the chain does not terminate (the app's own): the bytes as they come.
            String policy = chain.rbac() == null ? null : denial(chain, downstream, null);
            if (policy != null) {
                TcpAccessLog log = TcpAccessLog.of(chain, ch, true, original);
                if (log != null) {
                    log.cluster(chain.tcpCluster());   // the tcp_proxy's cluster, never dialled
                    log.terminationDetails(io.mesh.gateway.rbac.Rbac.responseDetail(policy));
                }
                first.release();
                ch.close();
                return;
            }
            tcp(ch, chain, SocketAddress.inetSocketAddress(original.port(), "127.0.0.1"), first, true);
        } else if (tls && !chain.tls()) {
            first.release();
            ch.close();   // a TLS client on a plaintext-only chain: nothing here can terminate it
        } else if (tls && !sidecar.canTerminateMeshTls()) {
            LOG.warnf("%s: mTLS connection to port %d refused: no workload certificate", s.name(), original.port());
            first.release();
            ch.close();
        } else if (chain.tcp()) {
            // Mesh mTLS terminated here; once the handshake names the peer, RBAC (if any) decides; then the plaintext
            // bytes go to the workload.
            // With Istio's metadata exchange on the chain, the client's workload comes first in what it sends.
            boolean exchange = chain.peerMetadata() != null;
            io.netty.handler.ssl.SslHandler ssl = sidecar.terminateMeshTlsForRelay(ch, exchange);
            PeerExchange mx = null;
            if (exchange) {
                mx = new PeerExchange(sidecar.plane().peerExchangeFrame(), ch.eventLoop().newPromise());
                ch.pipeline().addLast("mx", mx);
            }
            TcpRelay.allowHalfClose(ch);   // a close_notify or FIN is passed on as a half-close (Envoy's tcp_proxy)
            sidecar.countTcpRelay(ch);
            VertxInternal vertx = (VertxInternal) sidecar.plane().vertx();
            TcpAccessLog log = TcpAccessLog.of(chain, ch, true, original);
            if (log != null) {
                log.cluster(chain.tcpCluster());
                ssl.handshakeFuture().addListener(h -> log.peer(null, h.isSuccess()
                        ? SidecarPlane.sessionSpiffeId(ssl.engine().getSession()) : null));
            }
            TcpRelay.connectWhen(ch, ssl.handshakeFuture(), () -> chain.rbac() == null
                    || !denied(chain, downstream, SidecarPlane.spiffeId(ssl.engine().getSession()), log),
                    InetSocketAddress.createUnresolved("127.0.0.1", original.port()), first, null,
                    (workload, none) -> sidecar.plane().inboundTcpMeters(chain.tcpCluster(),
                            SidecarPlane.sessionSpiffeId(ssl.engine().getSession()), chain.stats()).of(workload, null),
                    mx == null ? ch.eventLoop().newSucceededFuture(null) : mx.peer(),
                    vertx.transport().channelFactory(false), vertx.nettyAddressResolverGroup(), TcpRelay.CONNECT_TIMEOUT_MS,
                    TcpTimeouts.of(chain), log);
        } else {
            sidecar.serveHttp(ch, new SidecarPlane.Handoff(downstream, s.name(), tls), true, first);
        }
    }

    /**
     * Network RBAC of a TCP chain, once per connection: who (the mTLS peer, or null), from where, to which port. A denial
     * is the connection's termination details in {@code log} (null: none), as Envoy's network RBAC filter sets them.
     */
    private boolean denied(FilterChainSpec chain, Downstream d, String principal, TcpAccessLog log) {
        String policy = denial(chain, d, principal);
        if (policy != null && log != null) {
            log.terminationDetails(io.mesh.gateway.rbac.Rbac.responseDetail(policy));
        }
        return policy != null;
    }

    /** The policy that denies the connection ({@link io.mesh.gateway.rbac.Rbac#denial}), or null: allowed. */
    private String denial(FilterChainSpec chain, Downstream d, String principal) {
        String policy = chain.rbac().denial(io.mesh.gateway.rbac.RbacRequest.connection(principal,
                d.source() == null ? null : d.source().hostAddress(), d.originalDst().port()));
        if (policy != null) {
            LOG.debugf("%s: RBAC denied a TCP connection from %s (%s) to port %d: %s", spec.name(), d.source(), principal,
                    d.originalDst().port(), policy);
        }
        return policy;
    }

    /** Whether this capture listener is the inbound one ({@code virtualInbound}, 15006), which drains first. */
    static boolean inboundSide(ListenerSpec s) {
        return !s.name().equals("virtualOutbound") && (s.name().equals("virtualInbound") || s.port() == 15006);
    }

    /**
     * The outbound tcp_proxy listener at this address and port (not bound), or null: a TCP or TLS service's
     * {@code ADDRESS_PORT}, or with {@code 0.0.0.0} the {@code 0.0.0.0_PORT} of TLS services without an address.
     */
    private ListenerSpec tcpListener(String ip, int port) {
        for (ListenerSpec l : sidecar.plane().active().snapshot().listeners().values()) {
            if (!l.bindToPort() && !l.capture() && l.port() == port && l.host().equals(ip)
                    && !l.chains().isEmpty() && l.chains().get(0).tcp()) {
                return l;
            }
        }
        return null;
    }

    /**
     * An outbound tcp_proxy listener's connection: among the chains for its destination IP (prefix ranges), the first,
     * or, when they match on server names, the one the ClientHello's SNI picks (the app's TLS passes through untouched;
     * a name no chain takes, or no chain without names, closes the connection).
     */
    private void outboundTcp(Channel ch, ListenerSpec l, SocketAddress original) {
        java.util.List<FilterChainSpec> chains = l.chainsTo(original.hostAddress());
        if (chains.isEmpty()) {
            LOG.debugf("%s: no filter chain for destination %s", l.name(), original.hostAddress());
            ch.close();
            return;
        }
        if (chains.stream().allMatch(c -> c.serverNames().isEmpty())) {
            tcp(ch, chains.get(0), original, null, false);
            return;
        }
        SniPeek.then(ch, l.name(), sidecar.plane().config().limits().requestHeaderTimeout().toMillis(), sni -> {
            FilterChainSpec chain = ListenerSpec.chainFor(chains, sni);
            if (chain == null) {
                LOG.debugf("%s: no filter chain for SNI %s", l.name(), sni);
                ch.close();
                return false;
            }
            return tcp(ch, chain, original, null, false, sni);
        });
    }

    private ListenerSpec httpListener(int port) {
        for (ListenerSpec l : sidecar.plane().active().snapshot().listeners().values()) {
            if (!l.bindToPort() && !l.capture() && l.port() == port && !l.chains().isEmpty() && !l.chains().get(0).tcp()) {
                return l;
            }
        }
        return null;
    }

    /**
     * A TCP proxy to a cluster's endpoint (the original destination for ORIGINAL_DST), originating the cluster's TLS
     * (auto mTLS to mesh endpoints) when it has one.
     */
    private boolean tcp(Channel ch, FilterChainSpec chain, SocketAddress original, ByteBuf first, boolean inbound) {
        return tcp(ch, chain, original, first, inbound, null);
    }

    /** {@link #tcp}, the ClientHello's server name {@code sni} (null: none read) shown in the access log. */
    private boolean tcp(Channel ch, FilterChainSpec chain, SocketAddress original, ByteBuf first, boolean inbound,
            String sni) {
        // Istio's TCP metrics: outbound, the service is the cluster's host (PassthroughCluster itself for passthrough,
        // never the destination address: labels must stay bounded); inbound, the first service in the inbound|PORT||
        // cluster's telemetry metadata, as Istio's stats filter takes it ("unknown" without one).
        String cluster = chain == null ? "InboundPassthroughCluster" : chain.pickTcpCluster();   // weighted: per connection
        // The app's FIN is passed on as a half-close (Envoy's tcp_proxy), as a close_notify to an mTLS upstream.
        TcpRelay.allowHalfClose(ch);
        sidecar.countTcpRelay(ch);
        TcpAccessLog log = TcpAccessLog.of(chain, ch, inbound, original);
        if (log != null) {
            log.serverName(sni);
        }
        return TcpRelay.toCluster(sidecar.plane(), ch, chain == null ? null : cluster, original, first,
                inbound ? sidecar.plane().inboundTcpMeters(cluster, null, chain == null ? null : chain.stats())
                        : sidecar.plane().outboundTcpMeters(cluster, chain == null ? null : chain.stats()),
                TcpTimeouts.of(chain), log);
    }

    private static void release(ByteBuf b) {
        if (b != null) {
            b.release();
        }
    }

    /** SO_ORIGINAL_DST on the accepted socket's descriptor (native epoll transport only). */
    private static SocketAddress originalDestination(Channel ch) {
        if (!(ch instanceof io.netty.channel.unix.UnixChannel unix)) {
            throw new IllegalStateException("capture needs Netty's native epoll transport");
        }
        boolean v6 = ch.localAddress() instanceof InetSocketAddress l && l.getAddress() instanceof Inet6Address
                && !isV4Mapped(l.getAddress().getAddress());
        InetSocketAddress a = OriginalDst.of(unix.fd().intValue(), v6);
        return SocketAddress.inetSocketAddress(a.getPort(), a.getAddress().getHostAddress());
    }

    private static boolean isV4Mapped(byte[] a) {
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }
}
