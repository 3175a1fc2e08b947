package io.mesh.pilot.xds;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.WatchCancelledException;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.PushRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import org.jboss.logging.Logger;

/**
 * Our {@link ConfigWatcher}: java-control-plane's server handles streams and nonces; this decides what each
 * connection gets and when. A response's version is a hash of its content, per connection and type, so a push
 * that changes nothing for a proxy sends nothing.
 *
 * <ul>
 * <li>ACK or first request: answer at once when the content's version differs from the client's, else hold.</li>
 * <li>NACK (error_detail set): hold until the content differs from the rejected version: no resend storm.</li>
 * <li>Every requested name is answered by the full set that exists, so a removed resource disappears at the
 * client (SotW LDS/CDS) or arrives in removed_resources (delta).</li>
 * </ul>
 *
 * <p>Thread-safety: connection state is guarded by each {@link XdsConnection}; responses are sent outside those
 * locks. The stream id reaches createWatch through {@link #currentStream}: the library runs the request callback
 * and then createWatch on the same thread, in DiscoveryRequestStreamObserver.onNext.
 */
public final class PushWatcher implements ConfigWatcher, DiscoveryServerCallbacks {
    private static final Logger LOG = Logger.getLogger(PushWatcher.class);
    /** Envoy's recommended order: clusters before endpoints, listeners before routes. */
    static final List<String> PUSH_ORDER = List.of(Resources.V3.CLUSTER_TYPE_URL, Resources.V3.ENDPOINT_TYPE_URL,
            Resources.V3.SECRET_TYPE_URL, Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL);

    static final Duration STUCK_AFTER = Duration.ofSeconds(30);
    private final ThreadLocal<Long> currentStream = new ThreadLocal<>();
    private final ThreadLocal<Long> openingStream = new ThreadLocal<>();
    private final Map<Long, Transport> transports = new ConcurrentHashMap<>();

    /** How to close a stream and whether its client is reading, attached by {@link AdsService}. */
    record Transport(Runnable closer, java.util.function.BooleanSupplier ready) {
    }

    /**
     * Responses handed to gRPC but not yet written to their sockets, across all connections. A push to every
     * proxy would otherwise queue one response per connection at once (2000 x a 250 KB route table is 500 MB of
     * direct buffers, allocated and freed each push); with the budget, at most {@link #IN_FLIGHT} wait at a time and
     * the buffers are reused. A client that does not drain its response keeps its permit only until
     * {@link #BUDGET_WAIT} has passed for the next push thread, which then goes on without one: a slow client slows
     * a push by at most that, and never blocks it.
     */
    static final int IN_FLIGHT = 64;
    static final Duration BUDGET_WAIT = Duration.ofMillis(50);
    private final java.util.concurrent.Semaphore budget = new java.util.concurrent.Semaphore(IN_FLIGHT);
    private final Map<Long, XdsConnection> connections = new ConcurrentHashMap<>();
    private final ExecutorService pushExecutor;
    private final XdsMetrics metrics;
    private final Clock clock;
    private volatile MeshSnapshot snapshot = MeshSnapshot.EMPTY;

    private final GenerationCache cache;

    public PushWatcher(ExecutorService pushExecutor, XdsMetrics metrics, Clock clock,
            io.mesh.pilot.generator.Generator generator) {
        this.cache = new GenerationCache(generator);
        this.pushExecutor = pushExecutor;
        this.metrics = metrics;
        this.clock = clock;
    }

    public MeshSnapshot snapshot() {
        return snapshot;
    }

    public Collection<XdsConnection> connections() {
        return List.copyOf(connections.values());
    }

    public int connectionCount() {
        return connections.size();
    }

    /** Sets the first snapshot without pushing (startup). */
    public void initialize(MeshSnapshot s) {
        snapshot = s;
    }

    /**
     * Publishes a snapshot and queues a push to every connection. Never blocks: each connection keeps only the
     * newest queued snapshot, and a bounded pool drains the queues.
     */
    public void push(MeshSnapshot s, PushRequest request) {
        MeshSnapshot before = snapshot;
        snapshot = s;
        XdsConnection.QueuedPush push = new XdsConnection.QueuedPush(s, request.full(), request.start());
        // An endpoint-only push is EDS only, except for a sidecar that is itself one of the changed endpoints:
        // its inbound listeners and clusters come from its own endpoints.
        Set<String> selves = request.full() ? Set.of() : addresses(request.endpointHosts(), before, s);
        XdsConnection.QueuedPush fullPush = new XdsConnection.QueuedPush(s, true, request.start());
        if (request.full()) {
            prefetch(s);
        }
        for (XdsConnection c : connections.values()) {
            XdsConnection.QueuedPush mine = selves.contains(c.proxy.ip()) ? fullPush : push;
            XdsConnection.QueuedPush older = c.queued.getAndUpdate(q -> mine.merge(q));
            if (older == null) {
                pushExecutor.execute(() -> drain(c));
            }
        }
    }

    /**
     * Starts generating every type one connection watches, each on its own push thread, ahead of the drains: a
     * drain answers types in order (clusters first), so otherwise the first connection of a shape generates them
     * one after another while the other push threads wait for its results. Most of a fleet shares a few shapes.
     */
    private void prefetch(MeshSnapshot s) {
        for (XdsConnection c : connections.values()) {
            for (String type : PUSH_ORDER) {
                NameSet names;
                synchronized (c) {
                    XdsConnection.TypeState ts = c.types.get(type);
                    if (ts == null || (ts.watch == null && ts.deltaWatch == null && ts.lastSent == null)) {
                        continue;
                    }
                    names = ts.names;
                }
                pushExecutor.execute(() -> {
                    try {
                        cache.get(type, c.proxy, s, names);
                    } catch (RuntimeException e) {
                        // The drain that needs it generates again and handles the failure as it always does.
                        LOG.debugf(e, "prefetching %s failed", XdsMetrics.shortType(type));
                    }
                });
            }
            return;
        }
    }

    private static Set<String> addresses(Set<String> hosts, MeshSnapshot before, MeshSnapshot after) {
        Set<String> out = new java.util.HashSet<>();
        for (String host : hosts) {
            before.endpointsOf(host).forEach(e -> out.add(e.address()));
            after.endpointsOf(host).forEach(e -> out.add(e.address()));
        }
        return out;
    }

    private void drain(XdsConnection c) {
        XdsConnection.QueuedPush p = c.queued.getAndSet(null);
        if (p == null || !connections.containsKey(c.streamId)) {
            return;
        }
        if (!c.ready.getAsBoolean() && c.stuck(clock.instant(), STUCK_AFTER)) {
            // The client stopped reading (transport full, a response unanswered for long): close it so it
            // reconnects and resyncs, instead of queueing more for it. A merely busy client is left alone.
            metrics.overflow();
            LOG.warnf("closing xDS stream %d (%s): client is not reading its responses", c.streamId, c.proxy.id());
            connections.remove(c.streamId);
            releasePermit(c);
            c.closer.run();
            return;
        }
        boolean permit;
        try {
            permit = budget.tryAcquire(BUDGET_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            for (String type : PUSH_ORDER) {
                if (p.full() || type.equals(Resources.V3.ENDPOINT_TYPE_URL)) {
                    respond(c, type, p.snapshot(), p.start());
                }
            }
        } finally {
            if (permit) {
                // Kept until what was sent is written out (onReady); given back now if it already is.
                c.holdsPermit.set(true);
                if (c.ready.getAsBoolean()) {
                    releasePermit(c);
                }
            }
        }
    }

    private void releasePermit(XdsConnection c) {
        if (c.holdsPermit.getAndSet(false)) {
            budget.release();
        }
    }

    /** The stream's transport can take more: whatever it was sent has been written out. */
    void onReady(long streamId) {
        XdsConnection c = connections.get(streamId);
        if (c != null) {
            releasePermit(c);
        }
    }

    // ---- state of the world ----

    @Override
    public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
            java.util.function.Consumer<Response> responseConsumer, boolean hasClusterChanged,
            boolean allowDefaultEmptyEdsUpdate) {
        XdsConnection c = connection();
        if (c == null) {
            return new Watch(ads, allowDefaultEmptyEdsUpdate, request, responseConsumer);
        }
        // The watch lives until the next push, and an ACK repeats every name it asks for (a sidecar's thousand
        // clusters, freshly parsed strings): kept in the watch, 2000 such lists outlived each young collection and
        // filled the old generation every round. The names live on in the connection's interned NameSet, so the
        // watch keeps the request without them, and the parsed list dies young.
        List<String> asked = request.getResourceNamesList();
        Watch watch = new Watch(ads, allowDefaultEmptyEdsUpdate, asked.isEmpty() ? request
                : XdsRequest.create(request.v3Request().toBuilder().clearResourceNames().build()), responseConsumer);
        String type = request.getTypeUrl();
        synchronized (c) {
            XdsConnection.TypeState ts = c.type(type);
            // Compare before hashing and interning: the names usually repeat the last request's.
            if (!ts.names.sameAs(asked)) {
                ts.names = NameSet.of(asked);
            }
            ts.watch = watch;
            // The first request of a stream (no nonce yet) is always answered, as istiod answers it, even when it
            // carries the version the client already holds (a proxy reconnecting to a restarted pilot): the proxy
            // then knows it is in sync (its reconnect backoff resets) and /debug/syncz shows it SYNCED, not NOT SENT.
            ts.baseline = request.hasErrorDetail() ? ts.lastSent
                    : request.getResponseNonce().isEmpty() ? null : request.getVersionInfo();
            watch.setStop(() -> {
                synchronized (c) {
                    if (ts.watch == watch) {
                        ts.watch = null;
                    }
                }
            });
        }
        respond(c, type, snapshot, null);
        return watch;
    }

    /** Generates the connection's resources of one type and answers its pending watch if they changed. */
    private void respond(XdsConnection c, String type, MeshSnapshot s, Instant pushStart) {
        long started = System.nanoTime();
        Watch sotw;
        DeltaWatch delta;
        NameSet names;
        String baseline;
        synchronized (c) {
            XdsConnection.TypeState ts = c.types.get(type);
            if (ts == null || (ts.watch == null && ts.deltaWatch == null)) {
                return;
            }
            sotw = ts.watch;
            delta = ts.deltaWatch;
            names = ts.names;
            baseline = ts.baseline;
        }
        if (sotw != null) {
            GenerationCache.Generated g = cache.get(type, c.proxy, s, names);
            List<? extends Message> resources = g.resources();
            String version = g.version();
            if (version.equals(baseline)) {
                return;
            }
            GenerationCache.Generated previous;
            synchronized (c) {
                XdsConnection.TypeState ts = c.type(type);
                if (ts.watch != sotw) {
                    return;
                }
                ts.watch = null;
                ts.lastSent = version;
                ts.resourceCount = resources.size();
                ts.pushStart = pushStart;
                ts.sentAt = clock.instant();
                // SotW EDS may carry only what changed (missing assignments are not removals, unlike LDS/CDS),
                // once the client has ACKed the full set for the same names.
                previous = type.equals(Resources.V3.ENDPOINT_TYPE_URL) && ts.lastGenerated != null
                        && ts.lastGenerated.version().equals(ts.lastAcked) && ts.lastGenerated.names() == names
                        ? ts.lastGenerated : null;
                ts.lastGenerated = g;
            }
            if (previous != null) {
                resources = cache.changed(previous, g);
            }
            try {
                sotw.respond(Response.create(sotw.request(), resources, version));
                metrics.pushed(type);
                metrics.pushTime(type, Duration.ofNanos(System.nanoTime() - started));
            } catch (WatchCancelledException e) {
                LOG.debugf("watch cancelled before response on stream %d", c.streamId);
            }
        } else {
            respondDelta(c, type, s, delta, baseline, pushStart, started);
        }
    }

    // ---- delta ----

    @Override
    public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
            Map<String, String> resourceVersions, Set<String> pendingResources, boolean isWildcard,
            java.util.function.Consumer<DeltaResponse> responseConsumer, boolean hasClusterChanged) {
        DeltaWatch watch = new DeltaWatch(request, Map.copyOf(resourceVersions), Set.copyOf(pendingResources),
                requesterVersion, isWildcard, responseConsumer);
        XdsConnection c = connection();
        if (c == null) {
            return watch;
        }
        String type = request.getTypeUrl();
        synchronized (c) {
            XdsConnection.TypeState ts = c.type(type);
            Set<String> names = new TreeSet<>(resourceVersions.keySet());
            names.addAll(pendingResources);
            ts.names = isWildcard ? NameSet.ALL : NameSet.of(names);
            ts.deltaWatch = watch;
            ts.baseline = request.hasErrorDetail() ? ts.lastSent : null;
            watch.setStop(() -> {
                synchronized (c) {
                    if (ts.deltaWatch == watch) {
                        ts.deltaWatch = null;
                    }
                }
            });
        }
        respond(c, type, snapshot, null);
        return watch;
    }

    private void respondDelta(XdsConnection c, String type, MeshSnapshot s, DeltaWatch watch, String baseline,
            Instant pushStart, long started) {
        DeltaDiff diff = DeltaDiff.of(watch, cache.get(type, c.proxy, s, NameSet.of(DeltaDiff.names(watch))));
        if (diff == null) {
            return;
        }
        String version = diff.version();
        if (version.equals(baseline)) {
            return;
        }
        synchronized (c) {
            XdsConnection.TypeState ts = c.type(type);
            if (ts.deltaWatch != watch) {
                return;
            }
            ts.deltaWatch = null;
            ts.lastSent = version;
            ts.resourceCount = diff.present();
            ts.pushStart = pushStart;
            ts.sentAt = clock.instant();
        }
        try {
            watch.respond(DeltaResponse.create(watch.request(), diff.changed(), diff.removed(), version));
            metrics.pushed(type);
            metrics.pushTime(type, Duration.ofNanos(System.nanoTime() - started));
        } catch (WatchCancelledException e) {
            LOG.debugf("delta watch cancelled before response on stream %d", c.streamId);
        }
    }

    private XdsConnection connection() {
        Long id = currentStream.get();
        return id == null ? null : connections.get(id);
    }

    // ---- callbacks: connection lifecycle, ACK and NACK ----

    @Override
    public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
        currentStream.set(streamId);
        XdsConnection c = connections.computeIfAbsent(streamId,
                id -> attach(new XdsConnection(id, ProxyInfo.from(request.getNode()), false, clock.instant())));
        ackOrNack(c, request.getTypeUrl(), request.getResponseNonce(), request.getVersionInfo(),
                request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
    }

    @Override
    public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
        currentStream.set(streamId);
        XdsConnection c = connections.computeIfAbsent(streamId,
                id -> attach(new XdsConnection(id, ProxyInfo.from(request.getNode()), true, clock.instant())));
        String sent;
        synchronized (c) {
            sent = c.type(request.getTypeUrl()).lastSent;
        }
        ackOrNack(c, request.getTypeUrl(), request.getResponseNonce(), sent,
                request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
    }

    private void ackOrNack(XdsConnection c, String type, String nonce, String version, String error) {
        if (nonce.isEmpty()) {
            return;
        }
        Duration converged = null;
        synchronized (c) {
            XdsConnection.TypeState ts = c.type(type);
            if (!nonce.equals(ts.lastNonce)) {
                return;
            }
            if (error != null) {
                ts.lastNack = new XdsConnection.Nack(ts.lastSent, nonce, error, clock.instant());
            } else {
                ts.lastAcked = version;
                if (ts.pushStart != null && version != null && version.equals(ts.lastSent)) {
                    converged = Duration.between(ts.pushStart, clock.instant());
                    ts.pushStart = null;
                }
            }
        }
        if (error != null) {
            metrics.rejected(type);
            LOG.warnf("xDS NACK from %s for %s (nonce %s): %s", c.proxy.id(), XdsMetrics.shortType(type), nonce, error);
        } else if (converged != null) {
            metrics.convergence(converged);
        }
    }

    @Override
    public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
        sent(streamId, response.getTypeUrl(), response.getNonce());
    }

    @Override
    public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request,
            DeltaDiscoveryResponse response) {
        sent(streamId, response.getTypeUrl(), response.getNonce());
    }

    private void sent(long streamId, String type, String nonce) {
        XdsConnection c = connections.get(streamId);
        if (c != null) {
            synchronized (c) {
                c.type(type).lastNonce = nonce;
            }
        }
    }

    private XdsConnection attach(XdsConnection c) {
        Transport t = transports.get(c.streamId);
        if (t != null) {
            c.closer = t.closer();
            c.ready = t.ready();
        }
        return c;
    }

    @Override
    public void onStreamOpen(long streamId, String typeUrl) {
        openingStream.set(streamId);
    }

    /** The id of the stream the library opened on this thread just now (see {@link AdsService}). */
    Long takeOpeningStream() {
        Long id = openingStream.get();
        openingStream.remove();
        return id;
    }

    void registerTransport(long streamId, Transport t) {
        transports.put(streamId, t);
    }

    @Override
    public void onStreamClose(long streamId, String typeUrl) {
        closed(streamId);
    }

    @Override
    public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
        closed(streamId);
    }

    private void closed(long streamId) {
        transports.remove(streamId);
        XdsConnection c = connections.remove(streamId);
        if (c != null) {
            releasePermit(c);
            LOG.debugf("xDS stream %d from %s closed", streamId, c.proxy.id());
        }
    }

    /** Lets the server attach the transport's close and readiness to a connection once it exists. */
    XdsConnection byStream(long streamId) {
        return connections.get(streamId);
    }
}
