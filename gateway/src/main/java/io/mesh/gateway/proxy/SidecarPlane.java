package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.GatewaySnapshot;
import io.mesh.gateway.model.ListenerSpec;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Sidecar mode's half of the data plane. The capture listeners ({@link CaptureListener}: {@code virtualOutbound}
 * on 15001, {@code virtualInbound} on 15006) accept redirected connections, recover their original destination
 * and pick a filter chain; HTTP connections are then handed over, through a loopback hop, to one of three
 * internal HTTP servers that run the same interceptor chain as the router:
 * <ul>
 * <li>outbound: routed by authority with the RDS of {@code 0.0.0.0_PORT};</li>
 * <li>inbound plaintext (PERMISSIVE or DISABLE) and inbound mTLS (this proxy's citadel certificate, client
 * certificate required, the peer's SPIFFE ID becomes the principal): RBAC first, then the chain's inline
 * routes to {@code inbound|PORT||} on 127.0.0.1.</li>
 * </ul>
 * The hop keeps the HTTP machinery (HTTP/1.1, h2c, TLS, WebSocket) exactly the router's; the handoff table
 * maps the hop's local port to the captured connection, so a request knows its original source, destination
 * and chain.
 */
public final class SidecarPlane {

    private static final Logger LOG = Logger.getLogger(SidecarPlane.class);
    private static final ProxyInterceptor[] OUTBOUND = {new RouteInterceptor(), new FaultInterceptor(), new UpstreamForwarder()};
    private static final ProxyInterceptor[] INBOUND = {new RbacInterceptor(), new RouteInterceptor(), new FaultInterceptor(),
        new UpstreamForwarder()};

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

    private final DataPlane plane;
    private final io.mesh.gateway.identity.WorkloadIdentity identity;
    private final Map<Integer, Handoff> handoffs = new ConcurrentHashMap<>();
    private final Map<String, CaptureListener> captures = new ConcurrentHashMap<>();
    private final List<String> deployments = new ArrayList<>();
    private volatile int outboundPort = -1;
    private volatile int inboundPlainPort = -1;
    private volatile int inboundTlsPort = -1;

    SidecarPlane(DataPlane plane, io.mesh.gateway.identity.WorkloadIdentity identity) {
        this.plane = plane;
        this.identity = identity;
    }

    DataPlane plane() {
        return plane;
    }

    /** Starts the internal servers on loopback, free ports. */
    Future<Void> start(int instances) {
        Future<Integer> out = internal(instances, false, "outbound");
        Future<Integer> plain = internal(instances, false, "inbound");
        Future<Integer> tls = identity == null ? Future.succeededFuture(-1) : internal(instances, true, "inbound");
        return Future.all(out, plain, tls).map(v -> {
            outboundPort = out.result();
            inboundPlainPort = plain.result();
            inboundTlsPort = tls.result();
            LOG.debugf("sidecar internal servers: outbound :%d, inbound :%d, inbound mTLS :%d", outboundPort,
                    inboundPlainPort, inboundTlsPort);
            return null;
        });
    }

    /**
     * One internal server: {@code instances} HttpServers (one per event loop) sharing a random loopback port.
     * Vert.x shares a random port among servers given the same negative port, so each server kind has its own.
     */
    private Future<Integer> internal(int instances, boolean tls, String direction) {
        List<HttpServer> servers = new java.util.concurrent.CopyOnWriteArrayList<>();
        boolean inbound = direction.equals("inbound");
        int sharedRandomPort = tls ? -3 : inbound ? -2 : -1;
        return plane.vertx().deployVerticle(() -> new AbstractVerticle() {
            @Override
            public void start(Promise<Void> started) {
                HttpServer server = vertx.createHttpServer(options(tls).setPort(sharedRandomPort));
                server.connectionHandler(SidecarPlane.this::onConnection);
                server.requestHandler(r -> onRequest(r, inbound ? INBOUND : OUTBOUND));
                server.listen().onSuccess(s -> {
                    servers.add(s);
                    started.complete();
                }).onFailure(started::fail);
            }
        }, new DeploymentOptions().setInstances(instances)).map(id -> {
            deployments.add(id);
            return servers.get(0).actualPort();
        });
    }

    private HttpServerOptions options(boolean tls) {
        var limits = plane.config().limits();
        HttpServerOptions o = new HttpServerOptions().setHost("127.0.0.1").setPort(0).setTcpNoDelay(true)
                .setMaxHeaderSize(limits.maxHeaderBytes()).setMaxInitialLineLength(limits.maxUriLength() + 32)
                .setIdleTimeout((int) limits.idleTimeout().toMillis()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
                .setHandle100ContinueAutomatically(true).setCompressionSupported(false).setDecompressionSupported(false)
                .setHttp2ClearTextEnabled(true).setTracingPolicy(io.vertx.core.tracing.TracingPolicy.IGNORE);
        if (tls) {
            o.setSsl(true).setUseAlpn(true).setClientAuth(ClientAuth.REQUIRED)
                    .setKeyCertOptions(KeyCertOptions.wrap(identity.keyManager()))
                    .setTrustOptions(TrustOptions.wrap(identity.trustManager()))
                    .setEnabledSecureTransportProtocols(Set.of("TLSv1.2", "TLSv1.3"))
                    .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
        }
        return o;
    }

    int outboundPort() {
        return outboundPort;
    }

    int inboundPort(boolean tls) {
        return tls ? inboundTlsPort : inboundPlainPort;
    }

    void handoff(int hopLocalPort, Handoff h) {
        handoffs.put(hopLocalPort, h);
    }

    void release(int hopLocalPort) {
        handoffs.remove(hopLocalPort);
    }

    private void onConnection(HttpConnection conn) {
        if (!plane.acquireConnection()) {
            conn.close();
            return;
        }
        plane.trackConnection(conn);
        conn.closeHandler(v -> plane.untrackConnection(conn));
    }

    private void onRequest(HttpServerRequest req, ProxyInterceptor[] chain) {
        var remote = req.connection().remoteAddress();
        Handoff h = remote == null ? null : handoffs.get(remote.port());
        if (h == null) {
            // Only the capture listeners connect here; anything else is not a captured connection.
            req.response().setStatusCode(421).putHeader("connection", "close").end("not a captured connection\n");
            return;
        }
        if (req.headers().size() > plane.config().limits().maxHeaders()) {
            req.response().setStatusCode(431).putHeader("connection", "close").end("too many headers\n");
            return;
        }
        Downstream d = h.downstream();
        if (d.inbound() && req.isSSL() && d.peerPrincipal() == null) {
            d = d.withPeer(spiffeId(req.connection()));
            handoffs.replace(remote.port(), h, new Handoff(d, h.listenerName(), h.tls()));
        }
        ActiveConfig config = plane.active();
        FilterChainSpec filterChain = h.chain(config);
        if (filterChain == null || filterChain.tcp() || filterChain.tls() != req.isSSL()) {
            // The config changed under an open connection (listener gone, or now STRICT): close it, as a drain would.
            req.response().setStatusCode(503).putHeader("connection", "close").end("listener changed\n");
            req.connection().close();
            return;
        }
        plane.requestStarted(req.connection());
        if (plane.draining() && req.version() != HttpVersion.HTTP_2) {
            req.response().putHeader("connection", "close");
        }
        new ProxyExchange(plane, config, req, filterChain, h.listenerName(), chain, d).next();
    }

    /** The peer certificate's SPIFFE URI SAN (verified by the handshake against the mesh roots). */
    static String spiffeId(HttpConnection conn) {
        try {
            List<Certificate> peer = conn.peerCertificates();
            if (peer != null && !peer.isEmpty() && peer.get(0) instanceof X509Certificate leaf) {
                return io.mesh.gateway.identity.WorkloadIdentity.spiffeIdOf(leaf).orElse(null);
            }
        } catch (Exception e) {
            LOG.debugf("no peer identity: %s", e.getMessage());
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
            if (!spec.capture() || captures.containsKey(spec.name())) {
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

    Future<Void> close() {
        List<Future<?>> work = new ArrayList<>();
        captures.values().forEach(c -> work.add(c.close()));
        captures.clear();
        deployments.forEach(id -> work.add(plane.vertx().undeploy(id)));
        deployments.clear();
        return Future.join(work).mapEmpty();
    }
}
