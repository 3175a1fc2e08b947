package io.mesh.pilot;

import io.mesh.common.concurrent.DaemonThreads;
import io.mesh.common.mode.MeshMode;
import io.mesh.pilot.model.ExecutorScheduler;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.registry.KubernetesRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Executors;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Starts pilot's runtime (registry, push, ADS server) and says, in one line, what it listens on. */
@Singleton
public class PilotStartup {

    private static final Logger LOG = Logger.getLogger(PilotStartup.class);

    private volatile PilotRuntime runtime;
    private KubernetesRegistry kubernetes;

    void onStart(@Observes StartupEvent event, PilotConfig config, MeshMode mode, MeterRegistry registry,
            Instance<io.fabric8.kubernetes.client.KubernetesClient> kubeClient,
            @ConfigProperty(name = "quarkus.http.host") String host) {
        boolean kube = mode == MeshMode.KUBERNETES;
        Path configDir = config.configDir().filter(s -> !s.isBlank()).map(Path::of).orElse(null);
        ServiceSource services = () -> ServiceSource.View.EMPTY;
        Path credentialsDir = config.credentialsDir().filter(s -> !s.isBlank()).map(Path::of)
                .orElse(configDir == null ? null : configDir.resolve("credentials"));
        PilotRuntime.XdsTls tls = xdsTls(config);
        PilotRuntime.Settings settings = new PilotRuntime.Settings(config.xdsHost(), config.xdsPort(),
                kube ? null : configDir, config.debounce().quiet(), config.debounce().max(), config.pushConcurrency(),
                kube ? null : credentialsDir, tls);
        KubernetesRegistry k8s = null;
        if (kube) {
            k8s = new KubernetesRegistry(kubeClient.get(), config.credentialsNamespace());
            if (config.gatewayApi().deploymentController()) {
                k8s.withGatewayDeployments(config.gatewayApi().image(), config.gatewayApi().xdsAddress());
            }
            if (config.gatewayApi().gatewayclassController()) {
                k8s.withDefaultGatewayClass();
            }
            services = k8s;
        }
        KubernetesRegistry events = k8s;
        PilotRuntime rt = new PilotRuntime(settings, registry, new ExecutorScheduler(
                Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("pilot-debounce"))), services,
                (raw, reason) -> {
                    if (events != null) {
                        events.recordRejection(raw, reason);
                    }
                });
        if (k8s != null) {
            rt.withCredentials(k8s);
        }
        rt.withMesh(new io.mesh.pilot.model.MeshSettings(config.trustDomain(), config.outboundTrafficPolicy(),
                new io.mesh.config.DestinationRule.LocalityLbSetting(config.localityLbEnabled(), java.util.List.of(),
                        java.util.List.of(), java.util.List.of()), config.accessLogFile(), config.traceSampling(),
                config.sendUnhealthyEndpoints(), config.tcpKeepalive().toKeepalive(), accessLogFormats(config),
                config.persistentSessionFilter()).withExtAuthzProviders(
                        config.extAuthzProviders()));
        rt.withJwksRefresh(config.jwks().refreshInterval(), config.jwks().retryInterval());
        try {
            if (k8s != null) {
                // The informers sync first: pilot's xDS port opens with the whole cluster in its first snapshot,
                // so a proxy that reconnects to a restarted pilot never gets an empty or partial mesh.
                k8s.start(rt.store(), rt::configChanged, rt::endpointsChanged);
            }
            rt.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        runtime = rt;
        kubernetes = k8s;
        LOG.infof("pilot listening: xDS grpc://%s:%d (ADS, SotW and delta), %s, monitoring http://%s:%d "
                + "(/q/health, /q/metrics, /debug/syncz, /debug/config_dump, /debug/configz, /debug/registryz); "
                + "mode %s%s", config.xdsHost(), rt.xdsPort(),
                rt.xdsTlsPort() > 0 ? "xDS mTLS grpcs://" + config.xdsHost() + ":" + rt.xdsTlsPort()
                        + rt.citadelCertificate().map(c -> " (certificate " + c.identity() + " from citadel "
                                + config.citadelAddress().orElse("") + ")").orElse(" (certificate from files)")
                        : "no xDS mTLS (neither mesh.pilot.citadel-address nor mesh.pilot.tls.* configured)",
                host, config.monitoringPort(),
                kube ? "kubernetes" : "local", kube ? "" : ", config " + (configDir == null ? "(none)" : configDir));
    }

    /** The access log formats of the settings; a provider of another kind than envoyFileAccessLog is logged, skipped. */
    private static io.mesh.pilot.model.AccessLogFormats accessLogFormats(PilotConfig config) {
        java.util.List<String> skipped = new java.util.ArrayList<>();
        io.mesh.pilot.model.AccessLogFormats formats = config.accessLogFormats(skipped);
        if (!skipped.isEmpty()) {
            LOG.warnf("meshConfig extensionProviders %s: only envoyFileAccessLog and envoyExtAuthzHttp providers are"
                    + " served; these write no access log, and a CUSTOM AuthorizationPolicy naming one denies what its"
                    + " rules match (as istiod does when it cannot use the provider)", skipped);
        }
        return formats;
    }

    /** Where 15012's certificate comes from: files if configured, else citadel if its address is, else nowhere. */
    static PilotRuntime.XdsTls xdsTls(PilotConfig config) {
        PilotConfig.Tls files = config.tls();
        if (files.certChainFile().isPresent() && files.keyFile().isPresent() && files.rootCertFile().isPresent()) {
            return new PilotRuntime.Tls(files.port(), Path.of(files.certChainFile().get()),
                    Path.of(files.keyFile().get()), Path.of(files.rootCertFile().get()));
        }
        Optional<String> citadel = config.citadelAddress().filter(s -> !s.isBlank());
        if (citadel.isEmpty()) {
            return null;
        }
        Optional<String> token = config.citadelTokenFile().filter(s -> !s.isBlank());
        Optional<String> roots = config.citadelRootCertFile().filter(s -> !s.isBlank());
        if (token.isEmpty() || roots.isEmpty()) {
            throw new IllegalStateException("mesh.pilot.citadel-address is " + citadel.get() + ", so pilot serves xDS "
                    + "over mTLS with a certificate from citadel, and it needs "
                    + (token.isEmpty() ? "mesh.pilot.citadel-token-file (MESH_PILOT_CITADEL_TOKEN_FILE: the token "
                            + "that proves istio-system/istiod to citadel)" : "")
                    + (token.isEmpty() && roots.isEmpty() ? " and " : "")
                    + (roots.isEmpty() ? "mesh.pilot.citadel-root-cert-file (MESH_PILOT_CITADEL_ROOT_CERT_FILE: the "
                            + "mesh root, PEM)" : ""));
        }
        return new PilotRuntime.CitadelTls(files.port(), citadel.get(), Path.of(token.get()), Path.of(roots.get()),
                "spiffe://" + config.trustDomain() + "/ns/istio-system/sa/istiod");
    }

    void onStop(@Observes ShutdownEvent event) {
        if (kubernetes != null) {
            kubernetes.close();
        }
        if (runtime != null) {
            runtime.close();
        }
    }

    /** Null until startup has finished. */
    public PilotRuntime runtime() {
        return runtime;
    }
}
