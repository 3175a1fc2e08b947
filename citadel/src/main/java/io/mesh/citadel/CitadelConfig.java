package io.mesh.citadel;

import io.mesh.citadel.ca.KeyAlgorithm;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Every setting of citadel, under {@code mesh.citadel.*}. Environment variables override
 * ({@code MESH_CITADEL_MONITORING_PORT}, ...). Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.citadel")
public interface CitadelConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15014")
    int monitoringPort();

    /** The CA's gRPC port (TLS), Istio's 8060. 0 picks a free port. */
    @WithDefault("8060")
    int grpcPort();

    /** The address the gRPC port binds to; by default the monitoring port's, so the runner's 127.0.0.1 covers both. */
    @WithDefault("${quarkus.http.host:0.0.0.0}")
    String grpcHost();

    /**
     * Threads for CreateCertificate calls that block, i.e. wait for a TokenReview (Kubernetes mode, token callers).
     * All other calls run on the gRPC transport's event loops.
     */
    @WithDefault("8")
    int grpcThreads();

    /** The SPIFFE trust domain of every issued identity. */
    @WithDefault("cluster.local")
    String trustDomain();

    /** Local mode: the folder for the CA ({@code ca/}), {@code root-cert.pem} and, by default, the token file. */
    @WithDefault(".mesh/state/citadel")
    Path stateDir();

    /**
     * Local mode: the bootstrap token file, lines of {@code <token> <namespace>/<service-account>}. Defaults to
     * {@code <state-dir>/bootstrap-tokens}.
     */
    Optional<Path> bootstrapTokenFile();

    /** The key type of a self-signed root made on first start. */
    @WithDefault("ec-p256")
    KeyAlgorithm keyAlgorithm();

    /** How long a self-signed root made on first start is valid. */
    @WithDefault("3650d")
    Duration rootTtl();

    /** A plug-in CA in Istio's cacerts layout; when its files are present it is used instead of a stored root. */
    Optional<Path> pluginCertsDir();

    /** How often the plug-in CA files are checked for changes. */
    @WithDefault("10s")
    Duration pluginReloadInterval();

    /** Leaf lifetimes: a request is clamped to [min, max], and gets the default if it asks for none. */
    Ttl ttl();

    /** Kubernetes mode. */
    Kubernetes kubernetes();

    interface Ttl {
        @WithDefault("24h")
        Duration defaultTtl();

        @WithDefault("1h")
        Duration min();

        @WithDefault("90d")
        Duration max();
    }

    interface Kubernetes {
        /** Where the CA Secret lives, and citadel's own namespace. */
        @WithDefault("istio-system")
        String namespace();

        @WithDefault("istio-ca-secret")
        String secretName();

        /** The audiences a ServiceAccount token must be bound to (Istio's default). */
        @WithDefault("istio-ca")
        List<String> tokenAudiences();

        /** Keep ConfigMap istio-ca-root-cert in every namespace. */
        @WithDefault("true")
        boolean distributeRoot();
    }

    /** The bootstrap token file, defaulted into the state folder. */
    default Path effectiveBootstrapTokenFile() {
        return bootstrapTokenFile().orElse(stateDir().resolve("bootstrap-tokens"));
    }
}
