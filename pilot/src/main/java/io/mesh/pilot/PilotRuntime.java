package io.mesh.pilot;

import io.mesh.common.concurrent.DaemonThreads;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.PushDebouncer;
import io.mesh.pilot.model.PushRequest;
import io.mesh.pilot.model.Scheduler;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.model.SnapshotBuilder;
import io.mesh.pilot.registry.ConfigStore;
import io.mesh.pilot.registry.LocalFolderRegistry;
import io.mesh.pilot.xds.PushWatcher;
import io.mesh.pilot.xds.XdsMetrics;
import io.mesh.pilot.xds.XdsServer;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * pilot's four layers wired together, with no framework: registry -> snapshot -> generators -> ADS server.
 * The Quarkus beans only create and close it, so tests can run the whole pipeline in plain JUnit.
 */
public final class PilotRuntime implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(PilotRuntime.class);

    /** What the runtime needs from configuration (see {@link PilotConfig}). */
    public record Settings(String xdsHost, int xdsPort, Path configDir, Duration debounceQuiet, Duration debounceMax,
            int pushConcurrency, Path credentialsDir, XdsTls tls) {
        public Settings(String xdsHost, int xdsPort, Path configDir, Duration debounceQuiet, Duration debounceMax,
                int pushConcurrency) {
            this(xdsHost, xdsPort, configDir, debounceQuiet, debounceMax, pushConcurrency,
                    configDir == null ? null : configDir.resolve("credentials"), null);
        }
    }

    /** The mTLS xDS endpoint (15012): where its certificate comes from. */
    public sealed interface XdsTls permits Tls, CitadelTls {
        int port();
    }

    /** 15012 from files: pilot's certificate chain and key, and the root clients must chain to. */
    public record Tls(int port, Path certChain, Path key, Path root) implements XdsTls {
    }

    /**
     * 15012 with a certificate pilot gets from citadel for {@code identity} and keeps renewed, authenticating with
     * the token in {@code tokenFile}; clients must chain to the mesh root in {@code rootCertFile}.
     */
    public record CitadelTls(int port, String address, Path tokenFile, Path rootCertFile, String identity)
            implements XdsTls {
    }

    private final Settings settings;
    private final ConfigStore store;
    private final ServiceSource kubernetes;
    private volatile io.mesh.pilot.model.CredentialSource credentials;
    private volatile io.mesh.pilot.model.MeshSettings mesh = io.mesh.pilot.model.MeshSettings.DEFAULT;
    private final PushWatcher watcher;
    private final PushDebouncer debouncer;
    private final Scheduler scheduler;
    private volatile io.mesh.pilot.registry.JwksResolver jwks;
    private final XdsMetrics metrics;
    private final ExecutorService pushPool;
    private final ExecutorService requestPool;
    private final AtomicLong versions = new AtomicLong();
    private volatile MeshSnapshot current = MeshSnapshot.EMPTY;
    /** Guards {@link #started}: a push that runs before {@link #start} is left to the first snapshot. */
    private final Object pushLock = new Object();
    private boolean started;
    private LocalFolderRegistry folder;
    private XdsServer server;
    private XdsServer tlsServer;
    private io.mesh.pilot.xds.CitadelCertificate citadel;

    public PilotRuntime(Settings settings, MeterRegistry registry, Scheduler scheduler, ServiceSource kubernetes,
            ConfigStore.RejectionListener rejections) {
        this(settings, registry, scheduler, kubernetes, rejections, io.mesh.pilot.generator.Generator.DEFAULT);
    }

    /** With another generator: tests use it to serve a resource that is wrong on purpose. */
    public PilotRuntime(Settings settings, MeterRegistry registry, Scheduler scheduler, ServiceSource kubernetes,
            ConfigStore.RejectionListener rejections, io.mesh.pilot.generator.Generator generator) {
        this.settings = settings;
        this.kubernetes = kubernetes;
        this.metrics = new XdsMetrics(registry, this::connections, () -> current.services().size());
        this.store = new ConfigStore((raw, reason) -> {
            metrics.configRejected(raw.kind());
            rejections.rejected(raw, reason);
        });
        this.pushPool = Executors.newFixedThreadPool(settings.pushConcurrency(), DaemonThreads.numbered("pilot-push"));
        // Request handling never blocks (ACK bookkeeping, and generation when a shape is new), so a pool the size of
        // the machine serves thousands of streams; a thread per busy stream only added context switches.
        this.requestPool = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                DaemonThreads.numbered("pilot-xds"));
        this.watcher = new PushWatcher(pushPool, metrics, Clock.systemUTC(), generator);
        this.debouncer = new PushDebouncer(scheduler, settings.debounceQuiet(), settings.debounceMax(), this::push);
        this.scheduler = scheduler;
        this.jwks = newJwksResolver(io.mesh.pilot.registry.JwksResolver.DEFAULT_REFRESH, Duration.ofMinutes(1));
        this.credentials = settings.credentialsDir() == null ? io.mesh.pilot.model.CredentialSource.NONE
                : new io.mesh.pilot.registry.LocalCredentials(settings.credentialsDir());
    }

    /** Kubernetes mode: gateway certificates come from Secrets instead of a folder; used from the next snapshot. */
    public PilotRuntime withCredentials(io.mesh.pilot.model.CredentialSource source) {
        this.credentials = source;
        return this;
    }

    /**
     * How often RequestAuthentications' jwksUri are fetched again ({@code refresh}, istiod: 20 minutes), and how
     * soon one never fetched yet is retried; used from the next snapshot on.
     */
    public PilotRuntime withJwksRefresh(Duration refresh, Duration retry) {
        jwks.close();
        jwks = newJwksResolver(refresh, retry);
        return this;
    }

    private io.mesh.pilot.registry.JwksResolver newJwksResolver(Duration refresh, Duration retry) {
        // istiod forgets a URI no policy has used for 24 hours (JwtPubKeyEvictionDuration).
        return new io.mesh.pilot.registry.JwksResolver(scheduler, refresh, retry, Duration.ofHours(24),
                () -> configChanged("jwks"));
    }

    /** Mesh-wide settings (trust domain, default outbound traffic policy); used from the next snapshot. */
    public PilotRuntime withMesh(io.mesh.pilot.model.MeshSettings settings) {
        this.mesh = settings;
        return this;
    }

    public PilotRuntime start() throws IOException {
        if (settings.configDir() != null) {
            folder = new LocalFolderRegistry(settings.configDir(), store, () -> configChanged("config"));
            folder.start();
            // BackendTLSPolicies' CA ConfigMaps are the folder's ConfigMap documents.
            io.mesh.pilot.model.CredentialSource certificates = credentials;
            LocalFolderRegistry documents = folder;
            credentials = () -> {
                java.util.Map<String, io.mesh.pilot.model.TlsCredential> all = new java.util.HashMap<>(
                        certificates.credentials());
                all.putAll(io.mesh.pilot.registry.BackendTlsConfigMaps.referenced(store.accepted().values(),
                        documents::configMap));
                return all;
            };
        }
        // The JWKS of RequestAuthentications already in config, so the first snapshot has their keys.
        jwks.prefetch(SnapshotBuilder.jwksUris(store.accepted().values()));
        synchronized (pushLock) {
            // Built from everything the registries have read: nothing is served before this snapshot exists.
            current = SnapshotBuilder.build(versions.incrementAndGet(), store.accepted(), view(),
                    credentials.credentials(), mesh, jwks);
            watcher.initialize(current);
            started = true;
        }
        io.grpc.BindableService ads = XdsServer.ads(watcher);
        server = new XdsServer(settings.xdsHost(), settings.xdsPort(), ads, requestPool, null).start();
        if (settings.tls() instanceof Tls tls) {
            tlsServer = new XdsServer(settings.xdsHost(), tls.port(), ads, requestPool,
                    XdsServer.mtls(tls.certChain(), tls.key(), tls.root())).start();
        } else if (settings.tls() instanceof CitadelTls tls) {
            citadel = new io.mesh.pilot.xds.CitadelCertificate(tls.address(), tls.tokenFile(), tls.rootCertFile(),
                    tls.identity());
            tlsServer = new XdsServer(settings.xdsHost(), tls.port(), ads, requestPool, citadel.serverContext())
                    .start();
            citadel.start();
        }
        return this;
    }

    /** The registries' services, with local mode's Namespaces from the config folder. */
    private ServiceSource.View view() {
        ServiceSource.View view = kubernetes.view();
        return folder == null ? view : view.withNamespaces(folder.namespaces());
    }

    public void configChanged(String reason) {
        metrics.trigger(reason);
        debouncer.enqueue(PushRequest.config(reason, java.time.Instant.now()));
    }

    public void endpointsChanged(java.util.Set<String> hosts) {
        metrics.trigger("endpoint");
        debouncer.enqueue(PushRequest.endpoints(hosts, java.time.Instant.now()));
    }

    /** One debounced push: a new immutable snapshot (or just new endpoints), then every connection is queued. */
    void push(PushRequest request) {
        synchronized (pushLock) {
            if (!started) {
                // A registry's event before start: start reads the registries after it, so it is in the first
                // snapshot.
                return;
            }
            pushStarted(request);
        }
    }

    private void pushStarted(PushRequest request) {
        try {
            long started = System.nanoTime();
            MeshSnapshot previous = current;
            MeshSnapshot next = request.full()
                    ? SnapshotBuilder.build(versions.incrementAndGet(), store.accepted(), view(),
                            credentials.credentials(), mesh, jwks)
                    : previous.withKubernetesEndpoints(versions.incrementAndGet(), kubernetes.view());
            if (!request.full()) {
                // A pod a ServiceEntry selects came, went or changed: the push names the entry's hosts, as an
                // EndpointSlice's push names its Service's, so a sidecar that is one of those pods gets its inbound too.
                java.util.Set<String> selected = previous.podSelectedChanges(next);
                if (!selected.isEmpty()) {
                    java.util.Set<String> hosts = new java.util.HashSet<>(request.endpointHosts());
                    hosts.addAll(selected);
                    request = new PushRequest(false, request.reasons(), hosts, request.start());
                }
            }
            if (request.full()) {
                // A config change that changed only endpoints (a ServiceEntry's endpoints edited): EDS only.
                java.util.Set<String> hosts = previous.endpointOnlyChanges(next);
                if (hosts != null) {
                    request = new PushRequest(false, request.reasons(), hosts, request.start());
                }
            }
            if (!request.full() && !io.mesh.pilot.generator.ClusterGenerator.endpointIdentities(previous)
                    .equals(io.mesh.pilot.generator.ClusterGenerator.endpointIdentities(next))) {
                // Endpoint labels or service accounts changed: auto mTLS and the SANs in CDS depend on them.
                java.util.Set<String> reasons = new java.util.HashSet<>(request.reasons());
                reasons.add("endpoint-identity");
                request = new PushRequest(true, reasons, request.endpointHosts(), request.start());
            }
            if (!request.full() && io.mesh.pilot.generator.PassthroughServices.listenersChanged(previous, next)) {
                // A Passthrough service's endpoints came or went: sidecars have a listener per endpoint IP.
                java.util.Set<String> reasons = new java.util.HashSet<>(request.reasons());
                reasons.add("headless-endpoints");
                request = new PushRequest(true, reasons, request.endpointHosts(), request.start());
            }
            current = next;
            watcher.push(next, request);
            LOG.debugf("push %s (%s) to %s connections, %.0f ms after the first change, snapshot built in %.1f ms",
                    next.version(), request.reasons(), watcher.connectionCount(),
                    java.time.Duration.between(request.start(), java.time.Instant.now()).toNanos() / 1e6,
                    (System.nanoTime() - started) / 1e6);
        } catch (RuntimeException e) {
            LOG.errorf(e, "building snapshot failed; the previous one stays in force");
        }
    }

    private int connections() {
        return watcher.connectionCount();
    }

    public int xdsPort() {
        return server.port();
    }

    /** The mTLS xDS port, or -1 when no certificate is configured. */
    public int xdsTlsPort() {
        return tlsServer == null ? -1 : tlsServer.port();
    }

    /** pilot's citadel-issued certificate for 15012, when {@link CitadelTls} is configured. */
    public java.util.Optional<io.mesh.pilot.xds.CitadelCertificate> citadelCertificate() {
        return java.util.Optional.ofNullable(citadel);
    }

    public ConfigStore store() {
        return store;
    }

    public PushWatcher watcher() {
        return watcher;
    }

    public MeshSnapshot snapshot() {
        return current;
    }

    public LocalFolderRegistry folder() {
        return folder;
    }

    @Override
    public void close() {
        try {
            if (folder != null) {
                folder.close();
            }
        } catch (IOException e) {
            LOG.debugf("closing folder watch: %s", e.getMessage());
        }
        if (server != null) {
            server.close();
        }
        if (tlsServer != null) {
            tlsServer.close();
        }
        if (citadel != null) {
            citadel.close();
        }
        jwks.close();
        pushPool.shutdownNow();
        requestPool.shutdownNow();
    }
}
