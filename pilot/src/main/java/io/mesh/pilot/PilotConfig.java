package io.mesh.pilot;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/**
 * Every setting of pilot, under {@code mesh.pilot.*}. Environment variables override
 * ({@code MESH_PILOT_MONITORING_PORT}, {@code MESH_PILOT_XDS_PORT}, {@code MESH_PILOT_CONFIG_DIR}, ...).
 * Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.pilot")
public interface PilotConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15014")
    int monitoringPort();

    /** Plaintext ADS (Istio's 15010); 0 picks a free port. */
    @WithDefault("15010")
    int xdsPort();

    /** The address the xDS server binds. */
    @WithDefault("0.0.0.0")
    String xdsHost();

    /** Local mode: the folder of Istio YAML (ServiceEntry, VirtualService, ...), watched for changes. */
    Optional<String> configDir();

    /**
     * Local mode: gateway certificates, NAME.crt / NAME.key (/ NAME-cacert.crt) for credentialName NAME.
     * Defaults to the "credentials" folder inside the config folder.
     */
    Optional<String> credentialsDir();

    /** Kubernetes mode: the namespace whose kubernetes.io/tls Secrets back credentialName (pilot's own). */
    @WithDefault("istio-system")
    String credentialsNamespace();

    /** Where pilot may keep state in local mode (nothing is persisted yet). */
    Optional<String> stateDir();

    Debounce debounce();

    Jwks jwks();

    /**
     * RequestAuthentications' jwksUri, which pilot fetches and inlines into proxies' config (as istiod does by
     * default): fetched again every {@code refresh-interval} (istiod's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, 20m); a URI
     * never fetched successfully is retried every {@code retry-interval}.
     */
    interface Jwks {
        @WithDefault("20m")
        Duration refreshInterval();

        @WithDefault("1m")
        Duration retryInterval();
    }

    Tls tls();

    /**
     * xDS over mTLS (Istio's 15012), served only when a certificate is configured: a citadel-issued certificate
     * for pilot's identity, its key, and the mesh root that clients' certificates must chain to.
     */
    interface Tls {
        @WithDefault("15012")
        int port();

        Optional<String> certChainFile();

        Optional<String> keyFile();

        Optional<String> rootCertFile();
    }

    /** The SPIFFE trust domain of workload identities (used for ISTIO_MUTUAL SANs and RBAC principals). */
    @WithDefault("cluster.local")
    String trustDomain();

    /**
     * Istio's meshConfig.outboundTrafficPolicy.mode for sidecars: ALLOW_ANY passes traffic to unknown destinations
     * through (PassthroughCluster), REGISTRY_ONLY answers HTTP with 502 and drops TCP (BlackHoleCluster). A
     * proxy's Sidecar resource ({@code spec.outboundTrafficPolicy.mode}) overrides it.
     */
    @WithDefault("ALLOW_ANY")
    io.mesh.config.PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy();

    /**
     * Istio's meshConfig.localityLbSetting.enabled: with outlier detection, a proxy's traffic stays in its locality
     * and fails over by proximity (EDS priorities); false turns that off for every DestinationRule without a
     * localityLbSetting of its own.
     */
    @WithDefault("true")
    boolean localityLbEnabled();

    /**
     * istiod's PILOT_SEND_UNHEALTHY_ENDPOINTS (pilot/pkg/features, its SupportsUnhealthyEndpoints for every service):
     * EDS sends every service's not-ready endpoints as UNHEALTHY (never terminating ones), and every outbound cluster
     * gets {@code healthy_panic_threshold: 0}, so proxies count them in their priorities' health but never send to them.
     */
    @WithDefault("false")
    boolean sendUnhealthyEndpoints();

    /**
     * istiod's PILOT_ENABLE_PERSISTENT_SESSION_FILTER (pilot/pkg/features, off by default there too): outbound and
     * router HttpConnectionManagers get the stateful session filter, and the virtual hosts of services labelled
     * {@code istio.io/persistent-session} ({@code NAME} or {@code NAME:PATH}) or {@code istio.io/persistent-session-header}
     * ({@code NAME}) its per-route config, so their sessions stick to an endpoint. Without it such services still get
     * their DRAINING endpoints and {@code override_host_status}, as from istiod.
     */
    @WithDefault("false")
    boolean persistentSessionFilter();

    /**
     * Istio's meshConfig.accessLogFile: where proxies write their access log (Envoy's file access log in every
     * HttpConnectionManager) when no Telemetry resource turns access logging on or off for them; {@code off} for none.
     * The mesh's gateway writes it to stdout ({@code /dev/stdout}, the default) only.
     */
    @WithDefault("/dev/stdout")
    String accessLogFile();

    /**
     * Istio's meshConfig.accessLogEncoding: TEXT or JSON, the format of the mesh's access log and of Telemetry's
     * built-in {@code envoy} provider.
     */
    @WithDefault("TEXT")
    io.mesh.pilot.model.AccessLogFormats.Encoding accessLogEncoding();

    /**
     * Istio's meshConfig.accessLogFormat: with TEXT, an Envoy format string (istiod's default text format when unset;
     * a newline added when missing); with JSON, a JSON object of labels (istiod's default labels when unset).
     */
    Optional<String> accessLogFormat();

    /**
     * Istio's meshConfig.extensionProviders, as YAML (a list): the {@code envoyFileAccessLog} providers Telemetry's
     * {@code accessLogging[].providers[].name} may name, and the {@code envoyExtAuthzHttp} ones a CUSTOM
     * AuthorizationPolicy's {@code provider.name} may name; other kinds are skipped (logged at startup).
     */
    Optional<String> extensionProviders();

    /** The envoyExtAuthzHttp providers of {@link #extensionProviders()}; a bad one is refused naming entry and field. */
    default io.mesh.pilot.model.ExtAuthzProviders extAuthzProviders() {
        return io.mesh.pilot.model.ExtAuthzProviders.parse(extensionProviders().orElse(""));
    }

    /** The access log formats of the settings above; names of skipped providers go to {@code skipped}. */
    default io.mesh.pilot.model.AccessLogFormats accessLogFormats(java.util.List<String> skipped) {
        return new io.mesh.pilot.model.AccessLogFormats(accessLogEncoding(), accessLogFormat().orElse(""),
                io.mesh.pilot.model.AccessLogFormats.parseProviders(extensionProviders().orElse(""), skipped));
    }

    /**
     * Istio's meshConfig.defaultConfig.tracing.sampling: the percentage (0-100) of new traces (requests without a
     * sampled trace context) that proxies sample, unless a Telemetry resource's randomSamplingPercentage says otherwise.
     */
    @WithDefault("1.0")
    double traceSampling();

    /**
     * citadel's {@code host:port}. When set (and no {@code tls.*} files are), pilot gets its own workload certificate
     * for {@code spiffe://<trust-domain>/ns/istio-system/sa/istiod} from citadel, keeps it renewed, and serves the
     * mTLS xDS port with it; it then needs {@link #citadelTokenFile()} and {@link #citadelRootCertFile()}.
     */
    Optional<String> citadelAddress();

    /**
     * The bearer token pilot presents to citadel, re-read at each request: in Kubernetes a projected ServiceAccount
     * token (audience istio-ca), locally the runner's bootstrap token for istio-system/istiod.
     */
    Optional<String> citadelTokenFile();

    /**
     * The mesh root bundle (PEM, citadel's root-cert.pem / ConfigMap istio-ca-root-cert), re-read when it changes:
     * it verifies citadel, and the client certificates of the mTLS xDS port.
     */
    Optional<String> citadelRootCertFile();

    MeshTcpKeepalive tcpKeepalive();

    /**
     * Istio's meshConfig.tcpKeepalive: SO_KEEPALIVE on the upstream connections of every sidecar's and router's
     * outbound, inbound and PassthroughCluster clusters (istiod's applyTCPKeepalive), a DestinationRule's
     * connectionPool.tcp.tcpKeepalive overriding it field by field. Off unless {@code enabled} or a field is set; enabled
     * with no field is Istio's {@code tcpKeepalive: {}} (the OS defaults). {@code time} and {@code interval} go to the
     * proxies in whole seconds, as istiod sends them; each must be at least 1ms, to the millisecond (startup fails
     * naming the field otherwise).
     */
    interface MeshTcpKeepalive {
        @WithDefault("false")
        boolean enabled();

        Optional<Duration> time();

        Optional<Duration> interval();

        Optional<Integer> probes();

        /** As the mesh settings hold it: null when off. */
        default io.mesh.config.DestinationRule.TcpKeepalive toKeepalive() {
            if (!enabled() && time().isEmpty() && interval().isEmpty() && probes().isEmpty()) {
                return null;
            }
            return new io.mesh.config.DestinationRule.TcpKeepalive(probes().orElse(null), time().orElse(null),
                    interval().orElse(null));
        }
    }

    /** How many connections are pushed to at once. */
    @WithDefault("4")
    int pushConcurrency();

    /** The Kubernetes Gateway API. */
    GatewayApi gatewayApi();

    /**
     * istiod's automated deployment of Gateway API gateways (Kubernetes mode): {@code deployment-controller} (istiod's
     * {@code PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER}), the gateway {@code image} it runs and the
     * {@code xds-address} its proxies connect to (the {@code istio} ConfigMap's {@code pilotAddress} in the manifests);
     * {@code gatewayclass-controller} (istiod's {@code PILOT_ENABLE_GATEWAY_API_GATEWAYCLASS_CONTROLLER}): create the
     * GatewayClass {@code istio} when it is missing.
     */
    interface GatewayApi {
        @WithDefault("true")
        boolean deploymentController();

        @WithDefault("true")
        boolean gatewayclassController();

        @WithDefault("mesh/gateway")
        String image();

        @WithDefault("istio-pilot.istio-system.svc:15010")
        String xdsAddress();
    }

    /** Debounce: push after this quiet period, or at the latest after max. */
    interface Debounce {
        @WithDefault("100ms")
        Duration quiet();

        @WithDefault("10s")
        Duration max();
    }
}
