package io.mesh.gateway.proxy;

import io.mesh.gateway.GatewayConfig;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.GatewaySnapshot;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.route.HeaderMutation;
import io.mesh.gateway.route.Route;
import io.mesh.gateway.route.VirtualHost;
import io.mesh.gateway.route.WeightedCluster;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.tls.SniKeyCertOptions;
import io.mesh.gateway.upstream.ClusterSpec;
import io.mesh.gateway.upstream.Upstream;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * The data plane: owns the listeners, the upstreams and the one active config, swapped atomically.
 * {@link #apply} is called by one thread at a time (the xDS client's); requests read {@link #active()} once
 * and keep that value for their whole life. It never blocks an event loop: binding and TLS updates are
 * asynchronous and their failures are logged, keeping the last good listener.
 */
public final class DataPlane {

    private static final Logger LOG = Logger.getLogger(DataPlane.class);
    /**
     * The router's chain: RequestAuthentication's JWT filter, AuthorizationPolicies that select the gateway (their RBAC
     * filters), then routing.
     */
    private static final ProxyInterceptor[] CHAIN = {new RbacShadowInterceptor(true), new ExtAuthzInterceptor(true),
        new JwtAuthnInterceptor(), new RbacShadowInterceptor(false), new ExtAuthzInterceptor(false), new RbacInterceptor(),
        new RouteInterceptor(), new FaultInterceptor(), new UpstreamForwarder()};

    private final Vertx vertx;
    private final GatewayConfig config;
    private final RequestLog log;
    /** This proxy's side of Istio's metadata exchange (used by chains that have it). */
    final PeerMetadata peerMetadata;
    private final byte[] peerExchangeFrame;
    private final AtomicReference<ActiveConfig> active = new AtomicReference<>(new ActiveConfig(GatewaySnapshot.EMPTY, Map.of()));
    private final Map<String, ListenerServer> listeners = new ConcurrentHashMap<>();
    /** A router's TCP listeners (Gateway TCP servers, TLS passthrough). */
    private final Map<String, RouterTcpListener> tcpListeners = new ConcurrentHashMap<>();
    /** The connection cap, each connection's side and requests in flight, and the drains. */
    private final ConnectionDrain connections;
    private final java.util.concurrent.atomic.LongAdder fastRequests = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder rawRelayed = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder mirrorsAborted = new java.util.concurrent.atomic.LongAdder();
    /** The fast path's upstream connection pools, one per event loop. */
    private final Map<io.netty.channel.EventLoop, FastUpstreamPool> fastPools = new ConcurrentHashMap<>();
    private volatile boolean ready;

    private final OtlpReporter otlp;
    /** Sidecar mode only: capture listeners and the internal servers; null for the router. */
    private volatile SidecarPlane sidecar;
    private Future<Void> sidecarStarted;

    private final io.mesh.gateway.identity.WorkloadIdentity identity;
    /** The TLS implementation of every listener, mesh mTLS server and TLS upstream ({@code mesh.gateway.tls-engine}). */
    private final io.vertx.core.net.SSLEngineOptions sslEngine;

    /**
     * {@code otlp} may be null: then nothing is reported over OTLP. {@code identity}: the proxy's citadel identity,
     * which ISTIO_MUTUAL clusters use; null = none (such clusters answer 503 UF). {@code node}: this proxy's xDS node,
     * whose ID and metadata its metadata exchange sends.
     */
    public DataPlane(Vertx vertx, GatewayConfig config, MeterRegistry registry, OtlpReporter otlp,
            io.mesh.gateway.identity.WorkloadIdentity identity, io.envoyproxy.envoy.config.core.v3.Node node) {
        this.identity = identity;
        this.vertx = vertx;
        this.config = config;
        this.connections = new ConnectionDrain(vertx, config.limits().maxConnections());
        this.sslEngine = io.mesh.gateway.tls.TlsEngine.resolve(config.tlsEngine());
        this.otlp = otlp;
        OwnWorkload own = OwnWorkload.of(config, node);
        String clusterId = node.getMetadata().getFieldsOrThrow("CLUSTER_ID").getStringValue();   // env or setting
        com.google.protobuf.Struct metadata = PeerMetadata.metadata(own,
                node.getMetadata().getFieldsOrThrow("NAME").getStringValue(), clusterId,
                node.getMetadata().getFieldsOrDefault("OWNER", com.google.protobuf.Value.getDefaultInstance())
                        .getStringValue());
        this.peerMetadata = new PeerMetadata(node.getId(), metadata);
        this.peerExchangeFrame = PeerExchange.frame(node.getId(), metadata);
        this.log = new RequestLog(registry, own, clusterId, config.telemetry().accessLog(), otlp,
                () -> identity == null ? null : identity.spiffeId().orElse(null), this::clusterService);
    }

    /**
     * Istio's {@code destination_service} of what goes through a cluster, from the telemetry metadata pilot gives it
     * ({@link ClusterSpec#service()}); null when the cluster has none (or is not known).
     */
    String clusterService(String cluster) {
        ClusterSpec c = cluster == null ? null : active.get().snapshot().clusters().get(cluster);
        return c == null ? null : c.service();
    }

    /**
     * Turns on sidecar mode: capture listeners (original_dst) are bound for traffic redirected by iptables.
     * The proxy's identity (constructor) terminates and originates mesh mTLS; without it inbound TLS
     * connections are refused.
     * Call before the first {@link #apply}.
     */
    public void enableSidecar() {
        this.sidecar = new SidecarPlane(this, identity);
    }

    /**
     * Istio's TCP metrics for an outbound tcp_proxy connection to {@code cluster} (see {@code RequestLog.tcpMeters}),
     * chosen once the upstream's workload and identity are known, under the chain's stats overrides (null: none): null
     * without a registry.
     */
    TcpTally.Meters outboundTcpMeters(String cluster, io.mesh.gateway.model.StatsOverrides stats) {
        String service = RequestLog.serviceHost(cluster);
        return (peer, upstreamPrincipal) -> log.tcpMeters(false, cluster, null, service, peer, upstreamPrincipal, stats);
    }

    /**
     * Istio's TCP metrics for an inbound connection to a workload port from the mTLS peer {@code peer} (its SPIFFE ID,
     * or null), its service from the cluster's metadata, chosen once the peer's workload is known.
     */
    TcpTally.Meters inboundTcpMeters(String cluster, String peer, io.mesh.gateway.model.StatsOverrides stats) {
        String service = log.inboundTcpService(cluster);
        return (workload, upstreamPrincipal) -> log.tcpMeters(true, cluster, peer, service, workload, null, stats);
    }

    /** This proxy's side of Istio's TCP metadata exchange ({@link PeerExchange#frame}). */
    byte[] peerExchangeFrame() {
        return peerExchangeFrame;
    }

    /** The data plane's TLS implementation, for logs: {@code openssl (BoringSSL)} or {@code jdk}. */
    public String tlsEngineName() {
        return io.mesh.gateway.tls.TlsEngine.name(sslEngine);
    }

    /** The TLS engine options for data-plane servers and clients (a copy per use: Vert.x options are mutable). */
    io.vertx.core.net.SSLEngineOptions sslEngine() {
        return sslEngine.copy();
    }

    int eventLoopCount() {
        return eventLoops();
    }

    OtlpReporter otlp() {
        return otlp;
    }

    public Vertx vertx() {
        return vertx;
    }

    public GatewayConfig config() {
        return config;
    }

    public ActiveConfig active() {
        return active.get();
    }

    /** True once a complete config has been applied: every listener bound, every reference resolved. */
    public boolean ready() {
        return ready;
    }

    /** Whether a drain has begun (readiness fails): the inbound side's, or everything's. */
    public boolean draining() {
        return connections.draining();
    }

    /**
     * Whether connections on this side drain now: {@code inboundSide} (a sidecar's captured inbound) from the first
     * drain, the rest (a router's listeners, a sidecar's outbound capture and bound listeners) only when all drain.
     * Read on the hot path: one volatile field.
     */
    public boolean draining(boolean inboundSide) {
        return connections.draining(inboundSide);
    }

    /** Whether this is a sidecar (whose termination drains the inbound side only, as istio-agent's). */
    public boolean sidecar() {
        return sidecar != null;
    }

    /** Listener name → the port it actually listens on. */
    public Map<String, Integer> boundPorts() {
        Map<String, Integer> m = new HashMap<>();
        listeners.forEach((k, v) -> m.put(k, v.actualPort()));
        tcpListeners.forEach((k, v) -> m.put(k, v.actualPort()));
        SidecarPlane sc = sidecar;
        if (sc != null) {
            m.putAll(sc.boundPorts());
        }
        return m;
    }

    /** Connections under the cap ({@code limits.max-connections}): HTTP and router TCP ones, not a sidecar's TCP relays. */
    public int openConnections() {
        return connections.open();
    }

    /**
     * What istio-agent counts for {@code EXIT_ON_ZERO_ACTIVE_CONNECTIONS}: Envoy's {@code downstream_cx_active} of every
     * data-plane listener, whatever its direction: {@link #openConnections()} and a sidecar's captured TCP relays
     * (inbound and outbound). The status, admin and monitoring ports are not counted, as the agent skips its own.
     */
    public int activeDownstreamConnections() {
        SidecarPlane sc = sidecar;
        return connections.open() + (sc == null ? 0 : sc.tcpRelays());
    }

    /**
     * Applies a snapshot: upstreams first (so routes never point at a cluster that is not there yet), then
     * the atomic swap, then listeners. Upstreams whose transport settings did not change are kept, with
     * their pools and endpoint state.
     */
    public Future<Void> apply(GatewaySnapshot snap) {
        ActiveConfig prev = active.get();
        Map<String, Upstream> ups = new HashMap<>();
        List<Upstream> retired = new ArrayList<>();
        for (ClusterSpec declared : snap.clusters().values()) {
            ClusterSpec spec = withSecrets(declared, snap, identity != null);
            Upstream old = prev.upstreams().get(spec.name());
            Upstream u = old != null && old.spec().sameTransport(spec) && Objects.equals(old.spec().edsName(), spec.edsName())
                    ? old : new Upstream(vertx, spec, identity, sslEngine.copy());
            if (u != old && old != null) {
                retired.add(old);
            }
            if (spec.edsName() != null) {
                u.setEndpoints(snap.endpoints().getOrDefault(spec.edsName(), List.of()));
            } else if (u == old) {
                u.setEndpoints(spec.staticEndpoints());
            }
            ups.put(spec.name(), u);
        }
        prev.upstreams().forEach((name, u) -> {
            if (!ups.containsKey(name)) {
                retired.add(u);
            }
        });
        active.set(new ActiveConfig(snap, Map.copyOf(ups)));
        // Requests that already hold a retired upstream finish on it; close its pools after a grace period.
        if (!retired.isEmpty()) {
            vertx.setTimer(config.listeners().drainTimeout().toMillis() + 1000, t -> retired.forEach(Upstream::close));
        }
        // Once everything drains, listeners stay closed whatever config arrives (xDS runs until the process exits);
        // a sidecar's inbound capture stays drained too (SidecarPlane.reconcile).
        boolean closed = connections.draining(false);
        Future<Void> bound = closed ? Future.succeededFuture() : reconcileListeners(prev.snapshot(), snap);
        SidecarPlane sc = closed ? null : sidecar;
        if (sc != null) {
            if (sidecarStarted == null) {
                sidecarStarted = sc.start(eventLoops());
            }
            bound = Future.all(bound, sidecarStarted.compose(v -> sc.reconcile(snap))).mapEmpty();
        }
        return bound.onComplete(ar -> {
            if (ar.failed()) {
                LOG.errorf("listener update failed: %s", ar.cause().getMessage());
            } else if (snap.complete() && !ready) {
                ready = true;
                LOG.infof("gateway ready: %d listeners %s, %d clusters", snap.listeners().size(), boundPorts(), ups.size());
            }
        });
    }

    /**
     * A cluster whose TLS names SDS secrets gets them inlined; while one is missing (or it is a workload
     * identity secret, {@code default}/{@code ROOTCA}, and the proxy has no citadel identity), the cluster is
     * marked unavailable and its tries fail at once with 503 UF instead of connecting without the required
     * credentials.
     */
    private static ClusterSpec withSecrets(ClusterSpec c, GatewaySnapshot snap, boolean workloadIdentity) {
        List<io.mesh.gateway.upstream.TransportSocketMatch> matches = new ArrayList<>();
        for (var m : c.socketMatches()) {
            matches.add(m.withTls(withSecrets(m.tls(), snap, workloadIdentity)));
        }
        return c.withTls(withSecrets(c.tls(), snap, workloadIdentity), matches);
    }

    /** One transport's TLS (a cluster's or a transport socket match's) with its secrets, or marked unavailable. */
    private static io.mesh.gateway.upstream.UpstreamTls withSecrets(io.mesh.gateway.upstream.UpstreamTls tls,
            GatewaySnapshot snap, boolean workloadIdentity) {
        if (tls == null || (tls.certSecret() == null && tls.caSecret() == null)) {
            return tls;
        }
        var resolved = tls.resolve(snap.secrets(), workloadIdentity);
        if (resolved == null) {
            resolved = new io.mesh.gateway.upstream.UpstreamTls(tls.sni(), null, null, null,
                    tls.subjectAltNames(), null, null, true);
        }
        return resolved;
    }

    private Future<Void> reconcileListeners(GatewaySnapshot prevSnap, GatewaySnapshot snap) {
        Map<String, ListenerBinding> bindings = ListenerBinding.of(snap.listeners().values(), DataPlane::bindsHere,
                config.listeners());
        List<Future<?>> work = new ArrayList<>();
        // The kept listeners' new chains (RBAC, routes' names) and certificates swap in together, once every new TLS
        // context is built: a policy change never reaches one listener a context-build ahead of another.
        List<Runnable> swaps = new ArrayList<>();
        for (Map.Entry<String, ListenerServer> e : listeners.entrySet()) {
            ListenerSpec next = snap.listeners().get(e.getKey());
            if (next == null || !bindings.containsKey(next.name()) || next.tcp()
                    || !sameSocket(e.getValue(), next, bindings.get(next.name()))) {
                listeners.remove(e.getKey());
                work.add(e.getValue().close());
            } else if (!next.tls() || sameSecrets(e.getValue().spec, next, prevSnap, snap)) {
                ListenerServer ls = e.getValue();
                swaps.add(() -> ls.spec = next);   // not after other listeners' closes complete
            }
        }
        for (Map.Entry<String, RouterTcpListener> e : tcpListeners.entrySet()) {
            ListenerSpec next = snap.listeners().get(e.getKey());
            RouterTcpListener t = e.getValue();
            if (next == null || !bindings.containsKey(next.name()) || !next.tcp()
                    || !t.binding.equals(bindings.get(next.name()))) {
                tcpListeners.remove(e.getKey());
                work.add(t.close());
            } else if (next.tls() && !sameSecrets(t.spec, next, prevSnap, snap)) {
                // New certificates or client-certificate settings apply to the next connections.
                SniKeyCertOptions tls = tcpTls(next, snap);
                if (tls == null) {
                    tcpListeners.remove(e.getKey());   // its certificates are gone: closed until they are back
                    work.add(t.close());
                } else {
                    swaps.add(t.update(next, tls));
                }
            } else {
                swaps.add(() -> t.spec = next);   // new chains apply to the next connections
            }
        }
        swaps.forEach(Runnable::run);
        Future<Void> closed = Future.all(work).mapEmpty();
        return closed.compose(v -> {
            List<Future<?>> starts = new ArrayList<>();
            for (ListenerSpec spec : snap.listeners().values()) {
                ListenerBinding binding = bindings.get(spec.name());
                if (binding == null) {
                    continue;
                }
                if (spec.tcp()) {
                    if (!tcpListeners.containsKey(spec.name())) {
                        SniKeyCertOptions tls = spec.tls() ? tcpTls(spec, snap) : null;
                        if (spec.tls() && tls == null) {
                            continue;   // waiting for SDS (or, for ISTIO_MUTUAL, the workload identity)
                        }
                        RouterTcpListener t = new RouterTcpListener(this, spec, binding, tls);
                        tcpListeners.put(spec.name(), t);
                        starts.add(t.start(eventLoops()).onFailure(err -> {
                            tcpListeners.remove(spec.name(), t);
                            LOG.errorf("listener %s cannot bind %s: %s", spec.name(), binding, err.getMessage());
                        }));
                    }
                    continue;
                }
                ListenerServer existing = listeners.get(spec.name());
                if (existing != null && (!spec.tls() || sameSecrets(existing.spec, spec, prevSnap, snap))) {
                    existing.spec = spec;
                    continue;
                }
                SniKeyCertOptions tls;
                try {
                    tls = spec.tls() ? SniKeyCertOptions.of(vertx, spec, snap.secrets(), identity) : null;
                } catch (Exception ex) {
                    LOG.errorf("listener %s: certificates do not load: %s", spec.name(), ex.getMessage());
                    continue;
                }
                if (spec.tls() && tls == null) {
                    continue;   // waiting for SDS
                }
                if (existing != null) {
                    existing.spec = spec;
                    starts.add(existing.updateTls(tls));
                    continue;
                }
                ListenerServer ls = new ListenerServer(this, spec, binding, tls, CHAIN);
                listeners.put(spec.name(), ls);
                starts.add(ls.start(eventLoops()).onFailure(err -> {
                    listeners.remove(spec.name(), ls);
                    LOG.errorf("listener %s cannot bind %s: %s", spec.name(), binding, err.getMessage());
                }));
            }
            return Future.join(starts).mapEmpty();
        });
    }

    /** A TCP listener's TLS from the snapshot's secrets, or null (logged) while they are missing or do not load. */
    private SniKeyCertOptions tcpTls(ListenerSpec spec, GatewaySnapshot snap) {
        try {
            SniKeyCertOptions tls = SniKeyCertOptions.of(vertx, spec, snap.secrets(), identity);
            if (tls == null) {
                LOG.debugf("listener %s: waiting for its certificates", spec.name());
            }
            return tls;
        } catch (Exception ex) {
            LOG.errorf("listener %s: certificates do not load: %s", spec.name(), ex.getMessage());
            return null;
        }
    }

    /**
     * Listeners this class binds as HTTP servers: not the never-bound {@code 0.0.0.0_PORT} ones, and not capture
     * listeners, which only a sidecar binds (a router ignores them).
     */
    private static boolean bindsHere(ListenerSpec spec) {
        return spec.bindToPort() && !spec.capture();
    }

    private static boolean sameSecrets(ListenerSpec a, ListenerSpec b, GatewaySnapshot sa, GatewaySnapshot sb) {
        if (!a.chains().equals(b.chains())) {
            return false;
        }
        for (var c : b.chains()) {
            if (c.secretNames().stream().anyMatch(n -> !Objects.equals(sa.secrets().get(n), sb.secrets().get(n)))
                    || (c.clientCaSecret() != null && !Objects.equals(sa.secrets().get(c.clientCaSecret()),
                            sb.secrets().get(c.clientCaSecret())))) {
                return false;
            }
        }
        return true;
    }

    /** What a listener asks of clients' certificates; a change needs a new server (it is not an SSL option update). */
    private static String clientAuth(ListenerSpec s) {
        return s.chains().stream().filter(FilterChainSpec::tls).findFirst()
                .map(c -> c.requireClientCert() + " " + (c.clientCaSecret() != null)).orElse("");
    }

    private static boolean sameSocket(ListenerServer ls, ListenerSpec next, ListenerBinding binding) {
        return ls.binding.equals(binding) && ls.spec.tls() == next.tls() && clientAuth(ls.spec).equals(clientAuth(next));
    }

    /** Whether requests are written to the access log (its upstream service time costs a clock read per request). */
    boolean accessLog() {
        return log.accessLog();
    }

    private int eventLoops() {
        int n = config.listeners().eventLoops();
        return n > 0 ? n : Runtime.getRuntime().availableProcessors();
    }

    void applyRequestMutations(ProxyExchange ex, MultiMap h) {
        applyRequestMutations(ex.target, ex.route, ex.virtualHost, ex.routeTable(), h);
    }

    void applyResponseMutations(ProxyExchange ex, MultiMap h) {
        applyResponseMutations(ex.target, ex.route, ex.virtualHost, ex.routeTable(), h);
        if (ex.corsOrigin != null) {
            Cors.onResponse(ex.route.cors(), ex.corsOrigin, ex.corsPreflight, h);
        }
        if (ex.setCookie != null) {
            h.add("set-cookie", ex.setCookie);
        }
    }

    /** Envoy's order: the weighted cluster's, the route's, the virtual host's, then the route table's. */
    static void applyRequestMutations(WeightedCluster target, Route route, VirtualHost vh, RouteTable t, MultiMap h) {
        apply(target == null ? null : target.requestHeaders(), h);
        apply(route.requestHeaders(), h);
        apply(vh.requestHeaders(), h);
        apply(t == null ? null : t.requestHeaders(), h);
    }

    static void applyResponseMutations(WeightedCluster target, Route route, VirtualHost vh, RouteTable t, MultiMap h) {
        apply(target == null ? null : target.responseHeaders(), h);
        apply(route.responseHeaders(), h);
        apply(vh.responseHeaders(), h);
        apply(t == null ? null : t.responseHeaders(), h);
    }

    private static void apply(HeaderMutation m, MultiMap h) {
        if (m != null && !m.isEmpty()) {
            m.applyTo(h);
        }
    }

    long maxBodyBytes() {
        return config.limits().maxBodyBytes();
    }

    int retryBufferBytes() {
        return config.limits().retryBufferBytes();
    }

    int mirrorBufferBytes() {
        return config.limits().mirrorBufferBytes();
    }

    double traceSampling() {
        return config.telemetry().traceSampling();
    }

    void record(ExchangeRecord ex) {
        try {
            log.record(ex);
        } catch (RuntimeException e) {
            LOG.debugf(e, "request log failed");
        }
    }

    // Connection accounting and drains, shared by all listeners: ConnectionDrain's.

    /** {@link #acquireConnection(boolean)} for a bound listener (drains with everything). */
    boolean acquireConnection() {
        return connections.acquire(false);
    }

    /**
     * Takes a slot under the connection cap; false when full or when {@code inboundSide}'s side drains
     * ({@link #draining(boolean)}). The count never passes the cap.
     */
    boolean acquireConnection(boolean inboundSide) {
        return connections.acquire(inboundSide);
    }

    void trackConnection(HttpConnection c) {
        connections.track(c, false);
    }

    /** Tracks an HTTP connection for the drain of its side ({@code inboundSide}: a sidecar's captured inbound). */
    void trackConnection(HttpConnection c, boolean inboundSide) {
        connections.track(c, inboundSide);
    }

    /** A connection closed: its slot under the cap is free (paired with a successful {@link #acquireConnection}). */
    void releaseConnection() {
        connections.release();
    }

    void untrackConnection(HttpConnection c) {
        connections.untrack(c);
    }

    /**
     * Graceful drain of everything ({@link ConnectionDrain}) within {@code listeners.drain-timeout}; then the listeners
     * and upstream pools close.
     */
    public Future<Void> drainAndClose() {
        return drainAndClose(config.listeners().drainTimeout());
    }

    /** {@link #drainAndClose()} with this deadline (the termination drain duration) instead of {@code listeners.drain-timeout}. */
    public Future<Void> drainAndClose(java.time.Duration bound) {
        return connections.drainAll(bound, this::closeAll);
    }

    /**
     * istio-agent's drain of a sidecar ({@code drain_listeners?inboundonly&graceful}): only the inbound side (the
     * captured inbound, 15006's chains) drains as {@link #drainAndClose} does, and at the end its capture listener
     * closes (new connections are then refused); the outbound capture and bound listeners keep serving, new
     * connections included, until {@link #drainAndClose} at exit. On a router, that drain itself (it has no inbound).
     */
    public Future<Void> drainInbound(java.time.Duration bound) {
        SidecarPlane sc = sidecar;
        return sc == null ? drainAndClose(bound) : connections.drainInbound(bound, sc::closeInbound);
    }

    /** Closes every listener and upstream pool (the end of {@link #drainAndClose}). */
    private Future<Void> closeAll() {
        List<Future<?>> closes = new ArrayList<>();
        listeners.values().forEach(l -> closes.add(l.close()));
        listeners.clear();
        tcpListeners.values().forEach(l -> closes.add(l.close()));
        tcpListeners.clear();
        SidecarPlane sc = sidecar;
        if (sc != null) {
            closes.add(sc.close());
        }
        active.get().upstreams().values().forEach(Upstream::close);
        fastPools.values().forEach(FastUpstreamPool::close);
        return Future.join(closes).mapEmpty();
    }

    /** Whether listeners install the fast path ({@code mesh.gateway.listeners.fast-path}). */
    boolean fastPathEnabled() {
        return config.listeners().fastPath();
    }

    FastUpstreamPool fastPool(io.netty.channel.EventLoop loop) {
        FastUpstreamPool p = fastPools.get(loop);
        if (p == null) {
            p = fastPools.computeIfAbsent(loop, FastUpstreamPool::new);
        }
        return p;
    }

    /** Requests the fast path has taken since start (the rest went the Vert.x path). */
    public long fastPathRequests() {
        return fastRequests.sum();
    }

    void countFast() {
        fastRequests.increment();
    }

    /**
     * Of {@link #fastPathRequests()}, those whose head was relayed as bytes (the decoded fast path sends the same
     * bytes upstream, so only this tells the two apart).
     */
    public long rawRelayedRequests() {
        return rawRelayed.sum();
    }

    void countRawRelayed() {
        rawRelayed.increment();
    }

    /** Mirrored requests aborted because their mirror fell behind the upstream by more than its buffer. */
    public long mirrorsAborted() {
        return mirrorsAborted.sum();
    }

    void countMirrorAborted() {
        mirrorsAborted.increment();
    }

    void trackFast(FastPathHandler h) {
        connections.trackFast(h);
    }

    void untrackFast(FastPathHandler h) {
        connections.untrackFast(h);
    }

    void requestStarted(HttpConnection c) {
        connections.requestStarted(c);
    }

    void requestDone(HttpConnection c) {
        connections.requestDone(c);
    }
}
