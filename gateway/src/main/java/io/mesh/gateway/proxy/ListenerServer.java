package io.mesh.gateway.proxy;

import io.mesh.gateway.GatewayConfig;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.tls.SniKeyCertOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.net.SSLOptions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * One bound listener: an HttpServer per event loop on the same port (Vert.x spreads accepted connections
 * over them). It enforces the connection-level protections (max connections and request-header timeout from
 * accept, through {@link GuardedHttpServer}; header count) and hands each request to a new {@link ProxyExchange}. The spec is volatile, so a config
 * change that keeps the port only swaps routing, without touching connections.
 */
final class ListenerServer implements FastSource {

    private static final Set<String> TLS_VERSIONS = Set.of("TLSv1.2", "TLSv1.3");

    final DataPlane plane;
    private final GatewayConfig.Limits limits;
    private final ProxyInterceptor[] interceptors;
    /** Where it listens; a new binding is a new listener. */
    final ListenerBinding binding;
    volatile ListenerSpec spec;
    private volatile SniKeyCertOptions tls;
    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
    private String deploymentId;

    ListenerServer(DataPlane plane, ListenerSpec spec, ListenerBinding binding, SniKeyCertOptions tls,
            ProxyInterceptor[] interceptors) {
        this.plane = plane;
        this.limits = plane.config().limits();
        this.spec = spec;
        this.binding = binding;
        this.tls = tls;
        this.interceptors = interceptors;
    }

    Future<Void> start(int instances) {
        return plane.vertx().deployVerticle(() -> new AbstractVerticle() {
            @Override
            public void start(Promise<Void> started) {
                // The fast path serves plain HTTP/1.1 on plaintext listeners; TLS listeners stay on the Vert.x path.
                boolean fast = tls == null && !spec.tls() && plane.fastPathEnabled();
                HttpServer server = new GuardedHttpServer(vertx, options(), plane, limits.requestHeaderTimeout().toMillis(),
                        fast ? ch -> FastPathHandler.install(ch, plane, ListenerServer.this) : null);
                server.connectionHandler(ListenerServer.this::onConnection);
                server.requestHandler(ListenerServer.this::onRequest);
                server.listen().onSuccess(s -> {
                    servers.add(s);
                    started.complete();
                }).onFailure(started::fail);
            }
        }, new DeploymentOptions().setInstances(instances)).map(id -> {
            deploymentId = id;
            return null;
        });
    }

    /** The fast path serves plaintext listeners only: their one chain. */
    @Override
    public FilterChainSpec fastChain(ActiveConfig config) {
        ListenerSpec s = spec;
        return s.tls() || s.chains().isEmpty() ? null : s.chains().get(0);
    }

    int actualPort() {
        return servers.isEmpty() ? -1 : servers.get(0).actualPort();
    }

    private HttpServerOptions options() {
        HttpServerOptions o = new HttpServerOptions().setHost(binding.host()).setPort(binding.port())
                .setReusePort(binding.reusePort())
                .setTcpNoDelay(true).setAcceptBacklog(4096)
                .setMaxHeaderSize(limits.maxHeaderBytes()).setMaxInitialLineLength(limits.maxUriLength() + 32)
                .setIdleTimeout((int) limits.idleTimeout().toMillis()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
                .setHandle100ContinueAutomatically(true).setCompressionSupported(false).setDecompressionSupported(false)
                .setHttp2ClearTextEnabled(true)
                // The gateway makes its own span per request; Quarkus's Vert.x tracer would add a second one.
                .setTracingPolicy(io.vertx.core.tracing.TracingPolicy.IGNORE)
                .setInitialSettings(new Http2Settings().setMaxHeaderListSize(limits.maxHeaderBytes())
                        .setMaxConcurrentStreams(1000));
        if (tls != null) {
            o.setSsl(true).setSni(true).setUseAlpn(true).setKeyCertOptions(tls)
                    // each chain's tls_params on the contexts of its certificate (none: the engine's own contexts)
                    .setSslEngineOptions(io.mesh.gateway.tls.ChainTlsEngine.of(plane.sslEngine()))
                    .setEnabledSecureTransportProtocols(TLS_VERSIONS)
                    .setAlpnVersions(alpn(spec.chains().get(0)));
            if (tls.clientTrust() != null) {
                // Istio's MUTUAL and ISTIO_MUTUAL (a certificate required) and OPTIONAL_MUTUAL (asked for, verified
                // when sent).
                o.setClientAuth(tls.requireClientCert() ? ClientAuth.REQUIRED : ClientAuth.REQUEST)
                        .setTrustOptions(clientCa(tls));
            }
        }
        return o;
    }

    /** The client certificates' trust: the CA (or the mesh's roots), and with subjectAltNames one of those names. */
    private static io.vertx.core.net.TrustOptions clientCa(SniKeyCertOptions tls) {
        return io.vertx.core.net.TrustOptions.wrap(tls.clientTrust());
    }

    private static List<HttpVersion> alpn(FilterChainSpec chain) {
        if (chain.alpn().contains("h2")) {
            return List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1);
        }
        return List.of(HttpVersion.HTTP_1_1);
    }

    /** Swaps the certificates in place; existing connections keep theirs. */
    Future<Void> updateTls(SniKeyCertOptions next) {
        this.tls = next;
        SSLOptions ssl = new SSLOptions().setKeyCertOptions(next).setUseAlpn(true)
                .setEnabledSecureTransportProtocols(TLS_VERSIONS);
        if (next.clientTrust() != null) {
            ssl.setTrustOptions(clientCa(next));   // a rotated CA; the client-auth mode itself never changes here
        }
        return Future.all(servers.stream().map(s -> s.updateSSLOptions(ssl, true)).toList()).mapEmpty();
    }

    /**
     * Vert.x hands an HTTP/1.x connection over only with its first complete request head; the cap and the
     * request-header timer already apply from accept ({@link GuardedHttpServer}). Here the connection joins
     * the set that drain closes.
     */
    private void onConnection(HttpConnection conn) {
        if (!(conn instanceof io.vertx.core.http.impl.Http1xServerConnection)) {
            // HTTP/2: the preface arrived; an h2 connection may wait for its first stream (gRPC channels connect
            // ahead of their calls), and stream heads come whole in HEADERS frames: nothing left to time.
            ConnectionGuard.headDone(conn, true);
        }
        plane.trackConnection(conn);
        conn.closeHandler(v -> plane.untrackConnection(conn));
    }

    /**
     * Whether a request has more header lines than {@code max} (every line counts, repeated names too). Vert.x's
     * {@code MultiMap.size()} counts distinct names, and builds a sorted set of them to do it.
     */
    static boolean tooManyHeaders(io.vertx.core.MultiMap headers, int max) {
        int n = 0;
        for (var ignored : headers) {
            if (++n > max) {
                return true;
            }
        }
        return false;
    }

    private void onRequest(HttpServerRequest req) {
        if (tooManyHeaders(req.headers(), limits.maxHeaders())) {
            req.response().setStatusCode(431).putHeader("connection", "close").end("too many headers\n");
            return;
        }
        ConnectionGuard.headDone(req.connection(), req.version() == HttpVersion.HTTP_2 || req.headers().contains("upgrade"));
        plane.requestStarted(req.connection());
        if (plane.draining(false) && req.version() != HttpVersion.HTTP_2) {
            req.response().putHeader("connection", "close");
        }
        ListenerSpec s = spec;
        FilterChainSpec chain = s.tls() ? s.chainFor(req.connection().indicatedServerName()) : s.chains().get(0);
        new ProxyExchange(plane, plane.active(), req, chain, s.name(), interceptors).next();
    }

    Future<Void> close() {
        if (deploymentId == null) {
            return Future.succeededFuture();
        }
        return plane.vertx().undeploy(deploymentId);
    }

    static Map.Entry<String, Integer> key(ListenerSpec s, String host, int port) {
        return Map.entry(host, port);
    }
}
