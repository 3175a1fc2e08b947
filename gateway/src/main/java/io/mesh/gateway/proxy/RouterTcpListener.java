package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.vertx.core.Future;
import io.vertx.core.impl.VertxInternal;
import org.jboss.logging.Logger;

/**
 * A router's TCP listener (a Gateway's TCP server, or its TLS server in PASSTHROUGH mode): a Netty server on the data
 * plane's event loops that relays each connection ({@link TcpRelay}) to an endpoint of its filter chain's cluster.
 * When a chain names server names, the TLS ClientHello's SNI picks the chain (the TLS stream itself passes through
 * untouched, as Envoy's tls_inspector and filter_chain_match do); a connection no chain takes is closed. Its
 * connections count under the gateway's connection cap ({@code limits.max-connections}), like HTTP ones.
 */
final class RouterTcpListener {

    private static final Logger LOG = Logger.getLogger(RouterTcpListener.class);

    private final DataPlane plane;
    /** Where it listens; a new binding is a new listener. */
    final ListenerBinding binding;
    volatile ListenerSpec spec;
    private final LoopServer server = new LoopServer();

    /** The TLS it terminates (null: none), as Netty contexts per SNI name; swapped with the spec. */
    private volatile io.netty.util.Mapping<String, io.netty.handler.ssl.SslContext> tls;

    RouterTcpListener(DataPlane plane, ListenerSpec spec, ListenerBinding binding,
            io.mesh.gateway.tls.SniKeyCertOptions tls) {
        this.plane = plane;
        this.spec = spec;
        this.binding = binding;
        this.tls = contexts(tls);
    }

    /**
     * New chains and certificates for the next connections, in two steps: the returned action swaps them in. The
     * certificates' contexts are built here (that takes milliseconds), so that a config update can build every
     * listener's first and then swap them all at once. When they do not load (logged), the action keeps the old ones.
     */
    Runnable update(ListenerSpec next, io.mesh.gateway.tls.SniKeyCertOptions nextTls) {
        var contexts = contexts(nextTls);
        return () -> {
            if (contexts != null || nextTls == null) {
                this.tls = contexts;
                this.spec = next;
            }
        };
    }

    private io.netty.util.Mapping<String, io.netty.handler.ssl.SslContext> contexts(io.mesh.gateway.tls.SniKeyCertOptions o) {
        if (o == null) {
            return null;
        }
        try {
            // The relay's engine, whatever the data plane's: a client's TLS 1.3 close_notify is then a half-close; where
            // the JDK's server here refuses Istio's mesh SNI (JdkMeshSni), the data plane's, as before.
            return o.nettyContexts(io.mesh.gateway.tls.JdkMeshSni.serverTakesMeshSni() ? TcpRelay.TLS_PROVIDER
                    : plane.sslEngine() instanceof io.vertx.core.net.OpenSSLEngineOptions
                            ? io.netty.handler.ssl.SslProvider.OPENSSL : io.netty.handler.ssl.SslProvider.JDK);
        } catch (javax.net.ssl.SSLException e) {
            LOG.errorf("%s: TLS does not load: %s", spec.name(), e.getMessage());
            return null;
        }
    }

    Future<Void> start(int eventLoops) {
        return server.start((VertxInternal) plane.vertx(), eventLoops, binding.host(), binding.port(), binding.reusePort(),
                this::accept);
    }

    int actualPort() {
        return server.actualPort();
    }

    /** Stops accepting and closes the connections this listener accepted. */
    Future<Void> close() {
        return server.close();
    }

    private void accept(Channel ch) {
        // The gateway's connection cap counts these connections too (and refuses them while draining).
        if (!plane.acquireConnection()) {
            ch.close();
            return;
        }
        ch.closeFuture().addListener(f -> plane.releaseConnection());
        ListenerSpec s = spec;
        var contexts = tls;
        if (s.tls()) {
            if (contexts == null) {
                ch.close();
                return;
            }
            terminate(ch, s, contexts);
            return;
        }
        if (s.chains().stream().allMatch(c -> c.serverNames().isEmpty())) {
            relay(ch, s.chains().get(0), null);
            return;
        }
        // Read the ClientHello's SNI (a stream that is not TLS has none), then hand the bytes read to the relay.
        SniPeek.then(ch, s.name(), plane.config().limits().requestHeaderTimeout().toMillis(), sni -> {
            FilterChainSpec chain = spec.chainFor(sni);
            if (chain == null) {
                LOG.debugf("%s: no filter chain for SNI %s", spec.name(), sni);
            }
            return relay(ch, chain, sni);
        });
    }

    /**
     * A TLS server that terminates TLS for tcp routes: the ClientHello's SNI picks the certificate (and the client
     * certificate check), and once the handshake is done the decrypted stream goes to the cluster of the chain for
     * that name. A failed handshake (no client certificate where one is required, one from another CA or without
     * the expected name) closes the connection without connecting upstream.
     */
    private void terminate(Channel ch, ListenerSpec s, io.netty.util.Mapping<String, io.netty.handler.ssl.SslContext> contexts) {
        io.netty.handler.ssl.SniHandler sni = new io.netty.handler.ssl.SniHandler(contexts, 0L) {
            @Override
            protected void replaceHandler(ChannelHandlerContext ctx, String hostname, io.netty.handler.ssl.SslContext ctxt)
                    throws Exception {
                super.replaceHandler(ctx, hostname, ctxt);
                io.netty.handler.ssl.SslHandler ssl = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class);
                FilterChainSpec chain = s.chainFor(hostname);
                if (chain == null) {
                    LOG.debugf("%s: no filter chain for SNI %s", s.name(), hostname);
                    ctx.channel().close();
                    return;
                }
                String cluster = chain.pickTcpCluster();
                Channel ch = ctx.channel();
                if (chain.peerMetadata() != null) {
                    // Istio's TCP metadata exchange with a mesh client (an ISTIO_MUTUAL server): the client learns this
                    // gateway's workload, and its own metadata is taken off the stream. The metrics name the upstream.
                    ctx.pipeline().addAfter(ctx.pipeline().context(ssl).name(), "mx",
                            new PeerExchange(plane.peerExchangeFrame(), ch.eventLoop().newPromise()));
                }
                TcpRelay.allowHalfClose(ch);   // the client's close_notify (or FIN) is passed on as a half-close
                TcpAccessLog log = TcpAccessLog.of(chain, ch, false, null);
                if (log != null) {
                    log.serverName(hostname);
                }
                TcpRelay.toClusterWhen(plane, ch, cluster, ssl.handshakeFuture(),
                        () -> !denied(chain, ch, SidecarPlane.spiffeId(ssl.engine().getSession()), log),
                        plane.outboundTcpMeters(cluster, chain.stats()),
                        TcpTimeouts.of(chain), log);
            }
        };
        ch.pipeline().addLast("sni", sni);
        long timeoutMs = plane.config().limits().requestHeaderTimeout().toMillis();
        if (timeoutMs > 0) {
            // A client that does not finish its handshake in the header timeout is closed, as a silent HTTP one is.
            ch.eventLoop().schedule(() -> {
                var ssl = ch.pipeline().get(io.netty.handler.ssl.SslHandler.class);
                if (ch.pipeline().get("sni") != null || (ssl != null && !ssl.handshakeFuture().isDone())) {
                    ch.close();
                }
            }, timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        ch.pipeline().addLast("handshake-failure", new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                LOG.debugf("%s: %s: %s", s.name(), ctx.channel().remoteAddress(), cause.getMessage());
                ctx.close();
            }
        });
    }

    /**
     * The chain's network RBAC (AuthorizationPolicies that select the gateway, as they apply to TCP), once per
     * connection: the caller's identity (a verified client certificate's SPIFFE ID, or null), its address, and the
     * listener's port (the Gateway server's). False when the chain has none. A denial is the connection's termination
     * details in {@code log} (null: none), as Envoy's network RBAC filter sets them.
     */
    private boolean denied(FilterChainSpec chain, Channel ch, String principal, TcpAccessLog log) {
        if (chain.rbac() == null) {
            return false;
        }
        java.net.SocketAddress remote = ch.remoteAddress();
        String source = remote instanceof java.net.InetSocketAddress a && a.getAddress() != null
                ? a.getAddress().getHostAddress() : null;
        int port = spec.port();
        String policy = chain.rbac().denial(io.mesh.gateway.rbac.RbacRequest.connection(principal, source, port));
        if (policy != null) {
            LOG.debugf("%s: RBAC denied a TCP connection from %s (%s): %s", spec.name(), source, principal, policy);
            if (log != null) {
                log.terminationDetails(io.mesh.gateway.rbac.Rbac.responseDetail(policy));
            }
        }
        return policy != null;
    }

    /**
     * Relays to an endpoint of the chain's cluster; false (the connection closed) when there is none. {@code sni}: the
     * ClientHello's server name (null: none read), for the access log.
     */
    private boolean relay(Channel ch, FilterChainSpec chain, String sni) {
        if (chain == null) {
            ch.close();
            return false;
        }
        String cluster = chain.pickTcpCluster();
        TcpAccessLog log = TcpAccessLog.of(chain, ch, false, null);
        if (log != null) {
            log.serverName(sni);
        }
        if (denied(chain, ch, null, log)) {
            if (log != null) {
                log.cluster(cluster);   // the tcp_proxy's cluster, never dialled
            }
            ch.close();
            return false;
        }
        TcpRelay.allowHalfClose(ch);   // a client's FIN is passed on, and the answer still comes back (Envoy's tcp_proxy)
        return TcpRelay.toCluster(plane, ch, cluster, null, null,
                plane.outboundTcpMeters(cluster, chain.stats()), TcpTimeouts.of(chain), log);
    }
}
