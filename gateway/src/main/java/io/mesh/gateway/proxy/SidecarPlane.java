package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.GatewaySnapshot;
import io.mesh.gateway.model.ListenerSpec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.AttributeKey;
import io.vertx.core.Future;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.ConnectionBase;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.jboss.logging.Logger;

/**
 * Sidecar mode's half of the data plane. The capture listeners ({@link CaptureListener}: {@code virtualOutbound}
 * on 15001, {@code virtualInbound} on 15006) accept redirected connections, recover their original destination
 * and pick a filter chain; an HTTP connection is then served in place, on the captured channel, by one of two
 * Vert.x HTTP servers that own no socket ({@link ChannelHttpServer}) and run the same interceptor chain as the
 * router:
 * <ul>
 * <li>outbound: routed by authority with the RDS of {@code 0.0.0.0_PORT};</li>
 * <li>inbound, plaintext (PERMISSIVE or DISABLE) or mesh mTLS terminated first on the same channel (this proxy's
 * citadel certificate, client certificate required, the peer's SPIFFE ID becomes the principal): RBAC first,
 * then the chain's inline routes to {@code inbound|PORT||} on 127.0.0.1.</li>
 * </ul>
 * The HTTP machinery (HTTP/1.1, h2c and h2 over mTLS by ALPN, WebSocket) is exactly the router's, and so is its fast
 * path for plain HTTP/1.1 requests ({@link Captured}). Each captured
 * channel carries its {@link Handoff}, so a request knows its original source, destination and chain.
 */
public final class SidecarPlane {

    private static final Logger LOG = Logger.getLogger(SidecarPlane.class);
    private static final ProxyInterceptor[] OUTBOUND = {new RbacShadowInterceptor(true), new ExtAuthzInterceptor(true),
        new JwtAuthnInterceptor(), new RbacShadowInterceptor(false), new ExtAuthzInterceptor(false), new RouteInterceptor(),
        new FaultInterceptor(), new UpstreamForwarder()};
    private static final ProxyInterceptor[] INBOUND = {new RbacShadowInterceptor(true), new ExtAuthzInterceptor(true),
        new JwtAuthnInterceptor(), new RbacShadowInterceptor(false), new ExtAuthzInterceptor(false), new RbacInterceptor(),
        new RouteInterceptor(), new FaultInterceptor(), new UpstreamForwarder()};

    /**
     * A captured connection on its way to an internal server: what the request handler needs to know. The
     * filter chain is looked up again for every request, so a config change (a new AuthorizationPolicy, STRICT)
     * applies to connections that are already open, as Envoy's listener drain would make it.
     */
    record Handoff(Downstream downstream, String listenerName, boolean tls) {

        FilterChainSpec chain(ActiveConfig config) {
            ListenerSpec l = config.snapshot().listeners().get(listenerName);
            if (l == null || l.chains().isEmpty()) {
                return null;
            }
            return l.capture() ? l.chainFor(downstream.originalDst().port(), tls) : l.chains().get(0);
        }
    }

    /** The captured connection's handoff, read by every request on it. */
    private static final AttributeKey<Handoff> HANDOFF = AttributeKey.valueOf("mesh.sidecar.handoff");

    private final DataPlane plane;
    private final io.mesh.gateway.identity.WorkloadIdentity identity;
    private final Map<String, CaptureListener> captures = new ConcurrentHashMap<>();
    /** Captured connections relayed as TCP (not served as HTTP), open now: counted for EXIT_ON_ZERO_ACTIVE_CONNECTIONS. */
    private final java.util.concurrent.atomic.AtomicInteger tcpRelays = new java.util.concurrent.atomic.AtomicInteger();
    private volatile ChannelHttpServer outbound;
    private volatile ChannelHttpServer inbound;
    /** Mesh mTLS server side: this proxy's citadel certificate, a client certificate required; built once. */
    private volatile SslContext meshTls;
    /** The same for TCP chains, on the JDK's engine: a TLS 1.3 close_notify received is a half-close ({@link TcpRelay}). */
    private volatile SslContext meshTcpTls;
    /** {@link #meshTcpTls} for chains with Istio's metadata exchange: ALPN {@code istio-peer-exchange} first. */
    private volatile SslContext meshTcpExchangeTls;

    SidecarPlane(DataPlane plane, io.mesh.gateway.identity.WorkloadIdentity identity) {
        this.plane = plane;
        this.identity = identity;
    }

    DataPlane plane() {
        return plane;
    }

    /** Sets up the HTTP servers that serve captured connections in place (nothing is bound). */
    Future<Void> start(int instances) {
        outbound = server(OUTBOUND, false);
        inbound = server(INBOUND, true);
        if (identity != null) {
            try {
                SslProvider engine = plane.sslEngine() instanceof io.vertx.core.net.OpenSSLEngineOptions
                        ? SslProvider.OPENSSL : SslProvider.JDK;
                meshTls = meshTlsContext(engine);
                // Peers send Istio's mesh SNI: where the JDK's server here refuses it, the data plane's engine, as before.
                SslProvider tcp = io.mesh.gateway.tls.JdkMeshSni.serverTakesMeshSni() ? TcpRelay.TLS_PROVIDER : engine;
                meshTcpTls = tcp == engine ? meshTls : meshTlsContext(tcp);
                meshTcpExchangeTls = meshTlsContext(tcp, PeerExchange.ALPN, ApplicationProtocolNames.HTTP_2,
                        ApplicationProtocolNames.HTTP_1_1);
            } catch (SSLException e) {
                return Future.failedFuture(e);
            }
        }
        return Future.succeededFuture();
    }

    private ChannelHttpServer server(ProxyInterceptor[] chain, boolean inboundSide) {
        ChannelHttpServer server = new ChannelHttpServer(plane.vertx(), options());
        server.connectionHandler(c -> onConnection(c, inboundSide));
        server.requestHandler(r -> onRequest(r, chain));
        return server;
    }

    private HttpServerOptions options() {
        var limits = plane.config().limits();
        return new HttpServerOptions().setTcpNoDelay(true)
                .setMaxHeaderSize(limits.maxHeaderBytes()).setMaxInitialLineLength(limits.maxUriLength() + 32)
                .setIdleTimeout((int) limits.idleTimeout().toMillis()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
                .setHandle100ContinueAutomatically(true).setCompressionSupported(false).setDecompressionSupported(false)
                .setHttp2ClearTextEnabled(true).setTracingPolicy(io.vertx.core.tracing.TracingPolicy.IGNORE);
    }

    /**
     * TLS 1.2/1.3 with this proxy's current certificate (the key manager is asked at each handshake, so rotation
     * needs no new context), peers verified against the mesh roots, ALPN h2 and http/1.1, on the data plane's TLS
     * engine ({@code provider}).
     */
    private SslContext meshTlsContext(SslProvider provider) throws SSLException {
        return meshTlsContext(provider, ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);
    }

    /** {@link #meshTlsContext(SslProvider)} offering {@code alpn}, in this order of preference. */
    private SslContext meshTlsContext(SslProvider provider, String... alpn) throws SSLException {
        return SslContextBuilder.forServer(identity.keyManager())
                .trustManager(identity.trustManager())
                .clientAuth(ClientAuth.REQUIRE)
                .sslProvider(provider)
                .protocols("TLSv1.3", "TLSv1.2")
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn))
                .build();
    }

    /** Whether inbound mesh mTLS can be terminated (this proxy has a citadel identity). */
    boolean canTerminateMeshTls() {
        return meshTls != null;
    }

    /** Puts mesh mTLS (server side) first in a captured connection's pipeline; call only when {@link #canTerminateMeshTls}. */
    io.netty.handler.ssl.SslHandler terminateMeshTls(Channel ch) {
        return terminateMeshTls(ch, meshTls);
    }

    /**
     * {@link #terminateMeshTls} for a TCP chain's relay, on the engine that lets it pass a half-close on; with
     * {@code exchange} (the chain has Istio's metadata exchange) offering ALPN {@code istio-peer-exchange} first, as
     * istiod's inbound TCP chains do ({@code ALPNDownstreamWithMxc}).
     */
    io.netty.handler.ssl.SslHandler terminateMeshTlsForRelay(Channel ch, boolean exchange) {
        return terminateMeshTls(ch, exchange ? meshTcpExchangeTls : meshTcpTls);
    }

    private static io.netty.handler.ssl.SslHandler terminateMeshTls(Channel ch, SslContext meshTls) {
        io.netty.handler.ssl.SslHandler ssl = meshTls.newHandler(ch.alloc());
        ch.pipeline().addLast("ssl", ssl);
        return ssl;
    }

    /**
     * Serves HTTP on a captured connection, on its event loop: mesh mTLS first when {@code h.tls()}, then the
     * outbound or inbound HTTP server; {@code first} (may be null) is what was already read from it.
     */
    void serveHttp(Channel ch, Handoff h, boolean inboundSide, ByteBuf first) {
        // A slot under the connection cap from here until the channel closes, whichever path serves its requests.
        if (!plane.acquireConnection(inboundSide)) {
            if (first != null) {
                first.release();
            }
            ch.close();
            return;
        }
        ch.closeFuture().addListener(f -> plane.releaseConnection());
        ch.attr(HANDOFF).set(h);
        if (h.tls()) {
            terminateMeshTls(ch);
        }
        (inboundSide ? inbound : outbound).serve(ch);
        if (plane.fastPathEnabled()) {
            FastPathHandler.install(ch, plane, new Captured(ch));
        }
        if (first != null) {
            ch.pipeline().fireChannelRead(first);
            ch.pipeline().fireChannelReadComplete();
        }
    }

    /**
     * A captured connection as the fast path sees it ({@link FastPathHandler}: plain HTTP/1.1 requests routed and
     * forwarded without Vert.x's HTTP objects, over pooled upstream connections with the cluster's TLS, auto mTLS
     * included). As on the Vert.x path, the chain is looked up again for every request, and its RBAC
     * (AuthorizationPolicy) decides first; a request it denies, or a chain that no longer fits the connection (gone,
     * or now STRICT), is left to the Vert.x path, which answers 403 or closes. Confined to the channel's event loop.
     */
    private record Captured(Channel channel) implements FastSource {

        @Override
        public FilterChainSpec fastChain(ActiveConfig config) {
            Handoff h = channel.attr(HANDOFF).get();
            FilterChainSpec c = h.chain(config);
            return c == null || c.tcp() || c.tls() != h.tls() ? null : c;
        }

        @Override
        public Downstream downstream() {
            return SidecarPlane.downstream(channel);
        }

        @Override
        public boolean secure() {
            return channel.attr(HANDOFF).get().tls();
        }

        @Override
        public boolean inboundSide() {
            return channel.attr(HANDOFF).get().downstream().inbound();
        }
    }

    /**
     * The captured connection's downstream, with (over mesh mTLS) the peer's SPIFFE ID, read from the finished
     * handshake the first time a request asks and kept in the connection's {@link Handoff}; both paths ask here.
     */
    static Downstream downstream(Channel ch) {
        Handoff h = ch.attr(HANDOFF).get();
        Downstream d = h.downstream();
        if (h.tls() && d.peerPrincipal() == null) {
            io.netty.handler.ssl.SslHandler ssl = ch.pipeline().get(io.netty.handler.ssl.SslHandler.class);
            String peer = ssl == null ? null : spiffeId(ssl.engine().getSession());
            if (peer != null) {
                d = d.withPeer(peer);
                ch.attr(HANDOFF).set(new Handoff(d, h.listenerName(), true));
            }
        }
        return d;
    }

    private void onConnection(HttpConnection conn, boolean inboundSide) {
        plane.trackConnection(conn, inboundSide);
        conn.closeHandler(v -> plane.untrackConnection(conn));
    }

    private void onRequest(HttpServerRequest req, ProxyInterceptor[] chain) {
        Channel ch = ((ConnectionBase) req.connection()).channel();
        Handoff h = ch.attr(HANDOFF).get();
        if (ListenerServer.tooManyHeaders(req.headers(), plane.config().limits().maxHeaders())) {
            req.response().setStatusCode(431).putHeader("connection", "close").end("too many headers\n");
            return;
        }
        Downstream d = downstream(ch);
        ActiveConfig config = plane.active();
        FilterChainSpec filterChain = h.chain(config);
        if (filterChain == null || filterChain.tcp() || filterChain.tls() != req.isSSL()) {
            // The config changed under an open connection (listener gone, or now STRICT): close it, as a drain would.
            req.response().setStatusCode(503).putHeader("connection", "close").end("listener changed\n");
            req.connection().close();
            return;
        }
        plane.requestStarted(req.connection());
        if (plane.draining(h.downstream().inbound()) && req.version() != HttpVersion.HTTP_2) {
            req.response().putHeader("connection", "close");
        }
        new ProxyExchange(plane, config, req, filterChain, h.listenerName(), chain, d).next();
    }

    /** The peer certificate's SPIFFE URI SAN (verified by the handshake against the mesh roots), from its session. */
    static String spiffeId(javax.net.ssl.SSLSession session) {
        try {
            return spiffeId(List.of(session.getPeerCertificates()));
        } catch (Exception e) {
            LOG.debugf("no peer identity: %s", e.getMessage());
            return null;
        }
    }

    private static final String SESSION_SPIFFE_ID = "io.mesh.gateway.peer-spiffe-id";

    /**
     * {@link #spiffeId(javax.net.ssl.SSLSession)}, read once per TLS session and kept on it (a pooled or resumed
     * connection's requests do not parse the certificate again).
     */
    static String sessionSpiffeId(javax.net.ssl.SSLSession session) {
        if (session == null) {
            return null;
        }
        Object known = session.getValue(SESSION_SPIFFE_ID);
        if (known instanceof String s) {
            return s.isEmpty() ? null : s;
        }
        String id = spiffeId(session);
        session.putValue(SESSION_SPIFFE_ID, id == null ? "" : id);
        return id;
    }

    private static String spiffeId(List<Certificate> peer) {
        if (peer != null && !peer.isEmpty() && peer.get(0) instanceof X509Certificate leaf) {
            return io.mesh.gateway.identity.WorkloadIdentity.spiffeIdOf(leaf).orElse(null);
        }
        return null;
    }

    /** Binds, rebinds or closes the capture listeners of a snapshot. */
    Future<Void> reconcile(GatewaySnapshot snap) {
        List<Future<?>> work = new ArrayList<>();
        for (Map.Entry<String, CaptureListener> e : captures.entrySet()) {
            ListenerSpec next = snap.listeners().get(e.getKey());
            if (next == null || !next.capture() || e.getValue().bindPort != plane.config().listeners().bindPort(next.port())) {
                captures.remove(e.getKey());
                work.add(e.getValue().close());
            } else {
                e.getValue().spec = next;
            }
        }
        for (ListenerSpec spec : snap.listeners().values()) {
            // A drained inbound capture stays closed whatever config comes (a new LDS does not undrain it).
            if (!spec.capture() || captures.containsKey(spec.name()) || (plane.draining() && CaptureListener.inboundSide(spec))) {
                continue;
            }
            String host = plane.config().listeners().host().orElse(spec.host());
            CaptureListener c = new CaptureListener(this, spec, host, plane.config().listeners().bindPort(spec.port()));
            captures.put(spec.name(), c);
            work.add(c.start(plane.eventLoopCount()).onFailure(err -> {
                captures.remove(spec.name(), c);
                LOG.errorf("capture listener %s cannot bind %s:%d: %s", spec.name(), host, c.bindPort, err.getMessage());
            }));
        }
        return Future.join(work).mapEmpty();
    }

    Map<String, Integer> boundPorts() {
        Map<String, Integer> m = new java.util.HashMap<>();
        captures.forEach((k, v) -> m.put(k, v.actualPort()));
        return m;
    }

    /** The inbound capture listener closes, with what it accepted, at the end of its drain; the outbound one stays. */
    Future<Void> closeInbound() {
        List<Future<?>> work = new ArrayList<>();
        captures.forEach((name, c) -> {
            if (CaptureListener.inboundSide(c.spec) && captures.remove(name, c)) {
                work.add(c.close());
            }
        });
        return Future.join(work).mapEmpty();
    }

    /** Counts a captured connection relayed as TCP until it closes. */
    void countTcpRelay(Channel ch) {
        tcpRelays.incrementAndGet();
        ch.closeFuture().addListener(f -> tcpRelays.decrementAndGet());
    }

    int tcpRelays() {
        return tcpRelays.get();
    }

    Future<Void> close() {
        List<Future<?>> work = new ArrayList<>();
        captures.values().forEach(c -> work.add(c.close()));
        captures.clear();
        return Future.join(work).mapEmpty();
    }
}
