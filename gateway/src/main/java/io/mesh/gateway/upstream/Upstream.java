package io.mesh.gateway.upstream;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The runtime of one cluster: its endpoints with their live state, the load balancer, the circuit-breaker
 * counters and the connection pools. The endpoint list is an immutable array replaced on EDS updates; the
 * pools are one HttpClient per event loop and transport, so a request and its upstream connection stay on one thread.
 * A cluster has one transport per {@code transport_socket_matches} entry besides its own {@code transport_socket}
 * ({@link ClusterSpec#transports}); each endpoint's is chosen once, when the endpoints are set, and every path
 * (HTTP clients, the fast path, tcp_proxy, mirrors) asks for the endpoint's ({@link #tls}, {@link #client}).
 * Thread-safety: called from every event loop; shared counters are atomics.
 */
public final class Upstream {

    private final ClusterSpec spec;
    private final Vertx vertx;
    private final AtomicInteger activeRequests = new AtomicInteger();
    private final AtomicInteger activeRetries = new AtomicInteger();
    /** Per transport (index of {@link ClusterSpec#transports}): the HTTP clients per event loop. */
    private final List<Map<Thread, HttpClient>> h1Clients = new ArrayList<>();
    private final List<Map<Thread, HttpClient>> h2Clients = new ArrayList<>();
    /** Per transport: its TLS contexts, null for a plaintext one. */
    private final TransportContexts[] transports;
    private final boolean tlsPerRequest;
    /** The transport of an endpoint without match metadata (an original destination). */
    private final int plainEndpointTransport;
    /** Per transport: the WebSocket clients per event loop (TLS origination as the transport's HTTP clients). */
    private final List<Map<Thread, WebSocketClient>> wsClients = new ArrayList<>();
    private volatile EndpointState[] endpoints = new EndpointState[0];
    /** The endpoints by the address a stateful session names them with ({@link #sessionAddress}). */
    private volatile Map<String, EndpointState> bySessionAddress = Map.of();
    private final java.util.Map<String, EndpointState> originalDsts = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean closed;
    private final io.vertx.core.net.SSLEngineOptions sslEngine;
    private volatile boolean literalEndpoints = true;
    /** The load balancer over the endpoints (priorities, health, panic); null for ORIGINAL_DST or no endpoints. */
    private volatile Priorities priorities;

    public Upstream(Vertx vertx, ClusterSpec spec) {
        this(vertx, spec, null);
    }

    /**
     * {@code identity}: the proxy's workload identity, which the SDS names {@code default} (client certificate)
     * and {@code ROOTCA} (trust) of ISTIO_MUTUAL clusters stand for; null when there is none.
     */
    public Upstream(Vertx vertx, ClusterSpec spec, io.mesh.gateway.identity.WorkloadIdentity identity) {
        this(vertx, spec, identity, null);
    }

    /** {@code sslEngine}: the TLS implementation of this cluster's TLS connections; null = Vert.x's default (the JDK's). */
    public Upstream(Vertx vertx, ClusterSpec spec, io.mesh.gateway.identity.WorkloadIdentity identity,
            io.vertx.core.net.SSLEngineOptions sslEngine) {
        this.sslEngine = sslEngine;
        this.vertx = vertx;
        this.spec = spec;
        List<UpstreamTls> tls = spec.transports();
        transports = new TransportContexts[tls.size()];
        for (int i = 0; i < transports.length; i++) {
            transports[i] = tls.get(i) == null ? null : new TransportContexts(spec.name(), tls.get(i), identity, vertx,
                    sslEngine);
            h1Clients.add(new ConcurrentHashMap<>());
            h2Clients.add(new ConcurrentHashMap<>());
            wsClients.add(new ConcurrentHashMap<>());
        }
        tlsPerRequest = tlsPerRequest(transports);
        plainEndpointTransport = spec.transportFor(Map.of());
        if (spec.edsName() == null) {
            setEndpoints(spec.staticEndpoints());
        }
    }

    public ClusterSpec spec() {
        return spec;
    }

    public List<EndpointState> endpoints() {
        return List.of(endpoints);
    }

    public int activeRequests() {
        return activeRequests.get();
    }

    /** Requests holding a slot under the max-retries breaker (from their first retry until they complete). */
    public int activeRetries() {
        return activeRetries.get();
    }

    /** Replaces the endpoint set, keeping the state of addresses that stay. */
    public void setEndpoints(List<Endpoint> list) {
        Map<String, EndpointState> old = new HashMap<>();
        for (EndpointState s : endpoints) {
            old.put(s.endpoint.address(), s);
        }
        EndpointState[] next = new EndpointState[list.size()];
        for (int i = 0; i < next.length; i++) {
            EndpointState kept = old.get(list.get(i).address());
            if (kept != null && kept.endpoint.sameTarget(list.get(i))) {
                kept.edsHealth = list.get(i).health().ordinal();   // published by the volatile writes below
                next[i] = kept;
            } else {
                next[i] = new EndpointState(list.get(i), spec.transportFor(list.get(i).socketMatch()));
            }
        }
        priorities = spec.lbPolicy() == LbPolicy.ORIGINAL_DST ? null
                : Priorities.of(next, list, spec, Math.max(spec.ringSize(), 64));
        boolean literal = true;
        for (EndpointState s : next) {
            literal &= s.literal != null;
        }
        literalEndpoints = literal;
        Map<String, EndpointState> index = new HashMap<>();
        for (EndpointState s : next) {
            index.putIfAbsent(sessionAddress(s), s);
        }
        bySessionAddress = index;
        endpoints = next;
    }

    /** Whether every endpoint's host is an IP literal, so a connection needs no DNS lookup (the fast path's condition). */
    public boolean literalEndpoints() {
        return literalEndpoints;
    }

    /** Takes a request slot; false means the max-requests breaker is open (503 UO). */
    private final AtomicInteger activeTcpConnections = new AtomicInteger();

    /**
     * Takes a tcp_proxy connection to this cluster under its {@code max_connections}, as Envoy's tcp_proxy checks the
     * cluster's connections resource before it dials: false when the cluster set one and it is reached (Envoy's UO, the
     * connection is closed). Pair a true with {@link #releaseTcpConnection} when the connection ends.
     */
    public boolean tryAcquireTcpConnection() {
        if (activeTcpConnections.incrementAndGet() > spec.breakers().maxConnections() && spec.breakers().maxConnectionsSet()) {
            activeTcpConnections.decrementAndGet();
            return false;
        }
        return true;
    }

    public void releaseTcpConnection() {
        activeTcpConnections.decrementAndGet();
    }

    public boolean tryAcquireRequest() {
        if (activeRequests.incrementAndGet() > spec.breakers().maxRequests()) {
            activeRequests.decrementAndGet();
            return false;
        }
        return true;
    }

    public void releaseRequest() {
        activeRequests.decrementAndGet();
    }

    /** Takes a retry slot; false means the max-retries breaker is open, so the retry is not made. */
    public boolean tryAcquireRetry() {
        if (activeRetries.incrementAndGet() > spec.breakers().maxRetries()) {
            activeRetries.decrementAndGet();
            return false;
        }
        return true;
    }

    public void releaseRetry() {
        activeRetries.decrementAndGet();
    }

    /**
     * The endpoint of an ORIGINAL_DST cluster for one request: its original destination ({@code host} and the port the
     * app used, or the cluster's upstream port override). States are kept per address (bounded) so breakers and stats
     * see repeat destinations as one endpoint.
     */
    public EndpointState originalDestination(String host, int dialled) {
        int port = spec.originalDstPort(dialled);
        String key = host + ":" + port;
        EndpointState s = originalDsts.get(key);
        if (s == null) {
            if (originalDsts.size() >= 4096) {
                originalDsts.clear();
            }
            s = originalDsts.computeIfAbsent(key, k -> new EndpointState(new Endpoint(host, port, 1), plainEndpointTransport));
        }
        return s;
    }

    /**
     * Picks an endpoint as Envoy's load balancer would ({@link Priorities}: priorities, health, panic), avoiding
     * {@code avoid} (the endpoint of a failed try) when another may be used. {@code hash} is used by the ring hash only;
     * {@code Long.MIN_VALUE} means "no hash key", which picks randomly. Null when none may be used (503 UH), and for
     * ORIGINAL_DST clusters ({@link #originalDestination}).
     */
    public EndpointState pick(long hash, EndpointState avoid) {
        Priorities lb = priorities;
        return lb == null ? null : lb.pick(hash, System.nanoTime(), avoid);
    }

    /**
     * The endpoint a stateful session names ({@code ip:port}, {@code [ipv6]:port}) when a request may go there past the
     * load balancer, as Envoy's selectOverrideHost: it is an endpoint of the cluster and its health is in
     * {@code override_host_status} (ejected by outlier detection it counts as UNHEALTHY). Else null.
     */
    public EndpointState sessionEndpoint(String address, long nowNanos) {
        EndpointState s = bySessionAddress.get(address);
        if (s == null) {
            return null;
        }
        return spec.overrides(s.ejected(nowNanos) ? EndpointState.UNHEALTHY : s.edsHealth) ? s : null;
    }

    /** The address a stateful session records for an endpoint: Envoy's form of it ({@code [ipv6]:port}). */
    public static String sessionAddress(EndpointState s) {
        String host = s.endpoint.host();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + s.endpoint.port();
    }

    public void onRequestStart(EndpointState s) {
        s.active.incrementAndGet();
        s.requests.incrementAndGet();
    }

    /**
     * Records how a try ended for outlier detection: {@code status} of the answer, or 0 for a connect
     * failure, reset or timeout (counted as a gateway error).
     */
    public void onRequestEnd(EndpointState s, int status) {
        s.active.decrementAndGet();
        boolean gatewayError = status == 0 || status == 502 || status == 503 || status == 504;
        boolean is5xx = status == 0 || status >= 500;
        if (is5xx) {
            s.failures.incrementAndGet();
        }
        OutlierPolicy p = spec.outlier();
        if (p == null) {
            return;
        }
        int c5 = is5xx ? s.consecutive5xx.incrementAndGet() : resetTo0(s.consecutive5xx);
        int cg = gatewayError ? s.consecutiveGatewayErrors.incrementAndGet() : resetTo0(s.consecutiveGatewayErrors);
        boolean trip = (p.consecutive5xx() > 0 && c5 >= p.consecutive5xx())
                || (p.consecutiveGatewayErrors() > 0 && cg >= p.consecutiveGatewayErrors());
        if (trip) {
            maybeEject(s, p);
        }
    }

    private static int resetTo0(AtomicInteger a) {
        if (a.get() != 0) {
            a.set(0);
        }
        return 0;
    }

    private void maybeEject(EndpointState s, OutlierPolicy p) {
        long now = System.nanoTime();
        if (s.ejected(now)) {
            return;
        }
        EndpointState[] eps = endpoints;
        int ejected = 0;
        for (EndpointState e : eps) {
            if (e.ejected(now)) {
                ejected++;
            }
        }
        // Envoy allows at least one ejection even when the percentage rounds down to zero hosts.
        if (ejected > 0 && (ejected + 1) * 100 > p.maxEjectionPercent() * eps.length) {
            return;
        }
        if (ejected == 0 && p.maxEjectionPercent() == 0) {
            return;
        }
        int count = ++s.ejections;
        long ms = Math.min(p.baseEjectionMs() * count, Math.max(p.maxEjectionMs(), p.baseEjectionMs()));
        s.ejectedUntilNanos = now + ms * 1_000_000L;
        s.consecutive5xx.set(0);
        s.consecutiveGatewayErrors.set(0);
        Priorities layered = priorities;
        if (layered != null) {
            layered.invalidate();
        }
    }

    /**
     * The TLS the connections to {@code endpoint} originate ({@link ClusterSpec#transports}), or null for plaintext;
     * {@code endpoint} null stands for one without match metadata (an original destination).
     */
    public UpstreamTls tls(EndpointState endpoint) {
        TransportContexts t = transports[transport(endpoint)];
        return t == null ? null : t.tls();
    }

    private int transport(EndpointState endpoint) {
        return endpoint == null ? plainEndpointTransport : endpoint.transport;
    }

    /**
     * Whether the fast path leaves this cluster's requests to the Vert.x path for its TLS: some transport lacks its
     * credentials (its endpoints' tries fail with 503 UF there), or takes each request's SNI from its Host (auto SNI;
     * the fast path's pooled connections have one SNI per endpoint).
     */
    public boolean tlsPerRequest() {
        return tlsPerRequest;
    }

    private static boolean tlsPerRequest(TransportContexts[] transports) {
        for (TransportContexts t : transports) {
            if (t != null && (t.tls().unavailable() || t.tls().autoSni())) {
                return true;
            }
        }
        return false;
    }

    /** The pool of this event loop for the given protocol and the transport of {@code endpoint} ({@link #tls}). */
    public HttpClient client(boolean http2, EndpointState endpoint) {
        int transport = transport(endpoint);
        Map<Thread, HttpClient> map = (http2 ? h2Clients : h1Clients).get(transport);
        Thread t = Thread.currentThread();
        HttpClient c = map.get(t);
        if (c == null) {
            var b = vertx.httpClientBuilder().with(clientOptions(http2, transports[transport])).with(new PoolOptions()
                    .setHttp1MaxSize(Math.max(1, spec.breakers().maxConnections()))
                    .setHttp2MaxSize(http2Connections())
                    .setMaxWaitQueueSize(spec.breakers().maxPendingRequests()));
            if (spec.keepalive() != null || spec.maxConnectionDurationMs() > 0) {
                b.withConnectHandler(this::connected);
            }
            c = b.build();
            map.put(t, c);
            if (closed) {
                c.close();
            }
        }
        return c;
    }

    /**
     * The HTTP/2 connections an event loop keeps per endpoint: one, whose streams are bounded by the circuit breaker's
     * requests; with {@code max_concurrent_streams}, as Envoy, another connection once those are all busy, up to the
     * breaker's connections (Vert.x's pool opens one only when every connection's streams are taken).
     */
    private int http2Connections() {
        return spec.maxConcurrentStreams() > 0 ? Math.max(1, spec.breakers().maxConnections()) : 1;
    }

    /**
     * A new connection of the cluster's Vert.x clients. TCP keepalive: Vert.x 4.5 sets only SO_KEEPALIVE on client
     * sockets (its TCP_KEEPIDLE/KEEPINTVL/KEEPCNT options reach servers only), so the cluster's timers are set on the
     * connection's channel here (the kernel re-arms the keepalive timer). {@code max_connection_duration}, as Envoy
     * drains an upstream connection that reached it: once the duration has passed since it connected, the connection
     * takes no new request and closes when its requests in flight are done (Vert.x's graceful shutdown: an idle
     * HTTP/1.1 connection closes, and leaves the pool, at once; HTTP/2 sends GOAWAY). One timer per connection,
     * cancelled when it closes first.
     */
    private void connected(io.vertx.core.http.HttpConnection conn) {
        if (spec.keepalive() != null && conn instanceof io.vertx.core.net.impl.ConnectionBase base) {
            spec.keepalive().applyTo(base.channel());
        }
        if (spec.maxConnectionDurationMs() > 0) {
            long timer = vertx.setTimer(spec.maxConnectionDurationMs(),
                    t -> conn.shutdown(DRAIN_LIMIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS));
            conn.closeHandler(v -> vertx.cancelTimer(timer));
        }
    }

    /** How long a drained connection's requests in flight may still take before it is closed anyway (Envoy: none). */
    private static final long DRAIN_LIMIT_MS = java.util.concurrent.TimeUnit.DAYS.toMillis(1);

    public boolean http2(boolean downstreamHttp2) {
        return switch (spec.protocol()) {
            case HTTP1 -> false;
            case HTTP2 -> true;
            case DOWNSTREAM -> downstreamHttp2;
        };
    }

    private HttpClientOptions clientOptions(boolean http2, TransportContexts tls) {
        HttpClientOptions o = new HttpClientOptions()
                .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, spec.connectTimeoutMs()))
                .setKeepAlive(true)
                .setKeepAliveTimeout((int) Math.max(1, spec.idleTimeoutMs() / 1000))
                .setTcpNoDelay(true)
                .setDecompressionSupported(false)
                .setTryUseCompression(false)
                .setTracingPolicy(io.vertx.core.tracing.TracingPolicy.IGNORE);
        if (spec.keepalive() != null) {
            spec.keepalive().applyTo(o);
        }
        if (http2) {
            int streams = Math.max(1, spec.breakers().maxRequests());
            if (spec.maxConcurrentStreams() > 0) {
                streams = Math.min(streams, spec.maxConcurrentStreams());
            }
            o.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false).setHttp2MultiplexingLimit(streams);
        }
        if (tls != null) {
            tls.applyTo(o, http2);
        }
        return o;
    }

    /**
     * The TLS origination to {@code endpoint} as a Netty context, for the fast path's HTTP/1.1 connections (no ALPN: the
     * peer speaks HTTP/1.1, as with the Vert.x clients for HTTP/1.1), on the data plane's TLS engine: the same trust,
     * SPIFFE ID / SAN check and client certificate as its Vert.x clients. Null when the endpoint's transport is
     * plaintext. Built once per transport and cluster version.
     */
    public io.netty.handler.ssl.SslContext nettyTls(EndpointState endpoint) throws javax.net.ssl.SSLException {
        TransportContexts t = transports[transport(endpoint)];
        return t == null ? null : t.nettyTls(sslEngine instanceof io.vertx.core.net.OpenSSLEngineOptions
                ? io.netty.handler.ssl.SslProvider.OPENSSL : io.netty.handler.ssl.SslProvider.JDK);
    }

    /**
     * The TLS of a tcp_proxy's connection to {@code endpoint} (null: an original destination), on {@code provider} (the
     * JDK's, see {@code TcpRelay}), offering its transport's ALPN protocols ({@link UpstreamTls#relayAlpn}: Istio's mesh
     * clusters offer {@code istio-peer-exchange} and {@code istio}, for the metadata exchange); null for plaintext.
     */
    public io.netty.handler.ssl.SslContext relayTls(io.netty.handler.ssl.SslProvider provider, EndpointState endpoint)
            throws javax.net.ssl.SSLException {
        TransportContexts t = transports[transport(endpoint)];
        return t == null ? null : t.relayTls(provider);
    }

    /**
     * The WebSocket client of this event loop for {@code endpoint}'s transport (upgrades are not pooled): its TLS
     * origination (mesh mTLS too) as the transport's HTTP clients', with the transport's fixed SNI (none, or the
     * rule's {@code sni} or mesh SNI).
     */
    public WebSocketClient webSocketClient(EndpointState endpoint) {
        int transport = transport(endpoint);
        return wsClients.get(transport).computeIfAbsent(Thread.currentThread(), t -> {
            TransportContexts tls = transports[transport];
            return vertx.createWebSocketClient(webSocketOptions(tls, tls == null ? null : tls.tls().sniFor(null)));
        });
    }

    /**
     * A WebSocket client for one upgrade to {@code endpoint} that sends {@code sni} (an auto SNI: the upgrade's Host),
     * which the caller closes when the upgrade ends: a client per Host would keep one for every Host a client sends.
     */
    public WebSocketClient newWebSocketClient(EndpointState endpoint, String sni) {
        return vertx.createWebSocketClient(webSocketOptions(transports[transport(endpoint)], sni));
    }

    private WebSocketClientOptions webSocketOptions(TransportContexts tls, String sni) {
        WebSocketClientOptions o = new WebSocketClientOptions()
                .setMaxConnections(Math.max(1, spec.breakers().maxConnections()))
                .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, spec.connectTimeoutMs()));
        if (tls != null) {
            tls.applyTo(o, sni);
        }
        return o;
    }

    /** True once {@link #close} ran: the cluster left the config. */
    public boolean isClosed() {
        return closed;
    }

    /** Closes the pools of a cluster that left the config; in-flight requests on them may fail. */
    public void close() {
        closed = true;
        h1Clients.forEach(m -> m.values().forEach(HttpClient::close));
        h2Clients.forEach(m -> m.values().forEach(HttpClient::close));
        wsClients.forEach(m -> m.values().forEach(WebSocketClient::close));
    }
}
