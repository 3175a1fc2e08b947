package io.mesh.injector;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Every setting of injector, under {@code mesh.injector.*}. Environment variables override
 * ({@code MESH_INJECTOR_MONITORING_PORT}, {@code MESH_INJECTOR_WEBHOOK_PORT}, ...). Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.injector")
public interface InjectorConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15014")
    int monitoringPort();

    /** The webhook's TLS port ({@code POST /inject}); the Service exposes it as 443. */
    @WithDefault("15017")
    int webhookPort();

    /** The webhook's bind address. Unset, it is {@code quarkus.http.host} (the runner sets 127.0.0.1). */
    Optional<String> webhookHost();

    /** Event loops serving the webhook; 0 means one per CPU. */
    @WithDefault("0")
    int webhookEventLoops();

    /**
     * Where local state goes: {@code webhook-ca.pem}, the bundle that verifies the webhook's certificate
     * (for {@code curl --cacert}). Unset, nothing is written.
     */
    Optional<Path> stateDir();

    /** Local mode: the injection template file. Unset, the template built into the jar is used. */
    Optional<Path> templateFile();

    /** How often the template file is checked for changes (local mode). */
    @WithDefault("1s")
    Duration templatePollInterval();

    Proxy proxy();

    Mesh mesh();

    Tls tls();

    Kubernetes kubernetes();

    Local local();

    /** What the injected containers run and may use; per-pod annotations override the resources. */
    interface Proxy {
        /** The gateway image, run as the sidecar and as the capture-init container. */
        @WithDefault("mesh/gateway:${quarkus.application.version}")
        String image();

        @WithDefault("IfNotPresent")
        String imagePullPolicy();

        /** The uid (and gid) the sidecar runs as; its own traffic is never captured. */
        @WithDefault("1337")
        long uid();

        @WithDefault("100m")
        String cpuRequest();

        @WithDefault("128Mi")
        String memoryRequest();

        @WithDefault("2000m")
        String cpuLimit();

        @WithDefault("1024Mi")
        String memoryLimit();

        /** Default for pods without {@code proxy.istio.io/config: holdApplicationUntilProxyStarts}. */
        @WithDefault("false")
        boolean holdApplicationUntilProxyStarts();

        /** The default of {@code traffic.sidecar.istio.io/includeOutboundIPRanges}. */
        @WithDefault("*")
        String includeOutboundIpRanges();

        /**
         * The default of {@code proxy.istio.io/config: terminationDrainDuration} (Istio's mesh default 5s): how long the
         * sidecar drains and stays after SIGTERM (TERMINATION_DRAIN_DURATION_SECONDS, whole seconds).
         */
        @WithDefault("5s")
        String terminationDrainDuration();
    }

    /** The mesh the sidecar joins. */
    interface Mesh {
        /** pilot's xDS address (over mTLS) as the sidecar dials it. */
        @WithDefault("pilot.istio-system.svc:15012")
        String pilotAddress();

        /** citadel's CA address (gRPC over TLS) as the sidecar dials it. */
        @WithDefault("citadel.istio-system.svc:8060")
        String citadelAddress();

        @WithDefault("cluster.local")
        String trustDomain();

        /** The audience of the projected ServiceAccount token the sidecar presents to citadel. */
        @WithDefault("istio-ca")
        String tokenAudience();

        /** The ConfigMap citadel publishes in every namespace with its root certificate. */
        @WithDefault("istio-ca-root-cert")
        String caRootConfigMap();
    }

    /** The webhook's serving certificate. */
    interface Tls {
        /** Lifetime of each serving certificate; it is replaced after two thirds of it. */
        @WithDefault("24h")
        Duration certTtl();

        /** DNS names in the certificate: the webhook Service's names, and localhost for local clients. */
        @WithDefault("istio-sidecar-injector.istio-system.svc,istio-sidecar-injector.istio-system.svc.cluster.local,localhost")
        List<String> dnsNames();
    }

    /** Kubernetes mode: where the injector's own objects live. */
    interface Kubernetes {
        @WithDefault("istio-system")
        String namespace();

        /** The MutatingWebhookConfiguration whose caBundle the injector keeps current. */
        @WithDefault("istio-sidecar-injector")
        String webhookConfiguration();

        /** The ConfigMap (in {@link #namespace()}) holding the injection template; absent means built-in. */
        @WithDefault("istio-sidecar-injector")
        String templateConfigMap();

        @WithDefault("template")
        String templateKey();
    }

    /** Local mode: there is no Namespace object to read labels from. */
    interface Local {
        /** Namespaces treated as labelled {@code istio-injection=enabled}. */
        @WithDefault("default")
        Set<String> injectedNamespaces();
    }
}
