package io.mesh.citadel;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.mesh.citadel.auth.BootstrapTokenFile;
import io.mesh.citadel.auth.CallerAuthenticator;
import io.mesh.citadel.auth.KubernetesTokenValidator;
import io.mesh.citadel.auth.TokenValidator;
import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.IssuerMaterial;
import io.mesh.citadel.ca.SpiffeId;
import io.mesh.citadel.ca.TtlPolicy;
import io.mesh.citadel.client.BundleTrustManager;
import io.mesh.citadel.distribution.RootCertFile;
import io.mesh.citadel.distribution.RootConfigMaps;
import io.mesh.citadel.server.CaGrpcServer;
import io.mesh.citadel.server.CaMetrics;
import io.mesh.citadel.server.CertificateService;
import io.mesh.citadel.server.ServingCertificate;
import io.mesh.citadel.store.CaBootstrap;
import io.mesh.citadel.store.CaStore;
import io.mesh.citadel.store.FolderCaStore;
import io.mesh.citadel.store.PluginCaFolder;
import io.mesh.citadel.store.PluginCaWatcher;
import io.mesh.citadel.store.SecretCaStore;
import io.mesh.common.mode.MeshMode;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import org.jboss.logging.Logger;

/**
 * Assembles the CA at startup, in order: issuer material (plug-in CA, or the stored root, made on first start),
 * the issuer, root distribution, the plug-in watcher, then the gRPC server. It owns their lifecycles and nothing
 * else; the CA logic lives in the packages it wires. If the CA cannot be loaded, startup fails loudly rather than
 * serving without an issuer.
 */
@Singleton
public class CitadelRuntime {

    private static final Logger LOG = Logger.getLogger(CitadelRuntime.class);

    private final CitadelConfig config;
    private final MeshMode mode;
    private final Instance<KubernetesClient> kubernetes;
    private final MeterRegistry registry;
    private final Clock clock = Clock.systemUTC();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private volatile CertificateIssuer issuer;
    private volatile CaGrpcServer server;
    private volatile String caSource = "";

    CitadelRuntime(CitadelConfig config, MeshMode mode, Instance<KubernetesClient> kubernetes, MeterRegistry registry) {
        this.config = config;
        this.mode = mode;
        this.kubernetes = kubernetes;
        this.registry = registry;
    }

    void start(@Observes @Priority(10) StartupEvent event) throws Exception {
        String trustDomain = config.trustDomain();
        TtlPolicy ttl = new TtlPolicy(config.ttl().defaultTtl(), config.ttl().min(), config.ttl().max());

        // 1. What signs: a plug-in CA if its files are there, else the stored root (made on first start).
        Optional<PluginCaFolder> plugin = config.pluginCertsDir().map(PluginCaFolder::new).filter(PluginCaFolder::present);
        IssuerMaterial material;
        if (plugin.isPresent()) {
            material = plugin.get().load(clock.instant());
            caSource = "plug-in CA " + plugin.get().folder();
        } else {
            CaStore store = mode == MeshMode.KUBERNETES
                    ? new SecretCaStore(kubernetes.get(), config.kubernetes().namespace(), config.kubernetes().secretName())
                    : new FolderCaStore(config.stateDir());
            material = CaBootstrap.loadOrCreate(store, config.keyAlgorithm(), trustDomain, config.rootTtl(), clock.instant());
            caSource = "self-signed root in " + store.describe();
        }
        issuer = new CertificateIssuer(material, ttl, clock);

        // 2. Publish the roots: a file in local mode, ConfigMaps in every namespace in Kubernetes mode.
        if (mode == MeshMode.KUBERNETES) {
            if (config.kubernetes().distributeRoot()) {
                RootConfigMaps configMaps = new RootConfigMaps(kubernetes.get());
                issuer.onTrustBundle(configMaps);
                configMaps.start();
                closeables.add(configMaps);
            }
        } else {
            issuer.onTrustBundle(new RootCertFile(config.stateDir()));
        }

        // 3. Reload a plug-in CA when its files change.
        if (plugin.isPresent()) {
            closeables.add(new PluginCaWatcher(plugin.get(), issuer, plugin.get().fingerprint(), clock)
                    .start(config.pluginReloadInterval()));
        }

        // 4. Serve CreateCertificate over TLS.
        List<TokenValidator> validators = new ArrayList<>();
        if (mode == MeshMode.KUBERNETES) {
            validators.add(new KubernetesTokenValidator(kubernetes.get(), config.kubernetes().tokenAudiences(), trustDomain));
        } else {
            validators.add(new BootstrapTokenFile(config.effectiveBootstrapTokenFile(), trustDomain));
            LOG.infof("citadel CA: bootstrap tokens from %s (%s), root bundle in %s", config.effectiveBootstrapTokenFile(),
                    java.nio.file.Files.exists(config.effectiveBootstrapTokenFile()) ? "present" : "absent; re-read when it appears",
                    new RootCertFile(config.stateDir()).file());
        }
        String ns = config.kubernetes().namespace();
        ServingCertificate serving = new ServingCertificate(issuer, new SpiffeId(trustDomain, ns, "citadel"),
                // istio-citadel is the Service in deploy/kubernetes (mesh-config's citadelAddress); clients verify it.
                List.of("istio-citadel." + ns + ".svc", "istio-citadel." + ns + ".svc." + trustDomain,
                        "citadel." + ns + ".svc", "citadel." + ns + ".svc." + trustDomain, "istiod." + ns + ".svc",
                        "citadel", "localhost"),
                List.of("127.0.0.1", "::1"));
        ExecutorService blockingPool = CaGrpcServer.blockingPool(config.grpcThreads());
        CertificateService service = new CertificateService(issuer,
                new CallerAuthenticator(validators, trustDomain), new CaMetrics(registry, issuer), blockingPool);
        server = new CaGrpcServer(config.grpcHost(), config.grpcPort(), service, serving,
                new BundleTrustManager(issuer::trustBundle), blockingPool).start();
        LOG.infof("citadel CA: %s, root %s, expires %s, signatures by %s", caSource,
                material.root().getSubjectX500Principal(), material.root().getNotAfter().toInstant(),
                io.mesh.citadel.ca.Signatures.PROVIDER.getName());
    }

    void stop(@Observes ShutdownEvent event) throws Exception {
        if (server != null) {
            server.stop();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    /** The issuer, or null before startup finished. */
    public CertificateIssuer issuer() {
        return issuer;
    }

    /** The bound gRPC port, or -1 before startup finished. */
    public int grpcPort() {
        return server == null ? -1 : server.port();
    }

    public MeshMode mode() {
        return mode;
    }
}
