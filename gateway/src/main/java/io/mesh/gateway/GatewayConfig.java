package io.mesh.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Every setting of gateway, under {@code mesh.gateway.*}. Environment variables override
 * ({@code MESH_GATEWAY_MONITORING_PORT}, ...). Defaults live only here.
 */
@ConfigMapping(prefix = "mesh.gateway")
public interface GatewayConfig {

    /** The Quarkus HTTP port serving /q/health, /q/metrics and /debug/*. */
    @WithDefault("15020")
    int monitoringPort();

    /**
     * {@code router} (the ingress gateway) or {@code sidecar} (the injected proxy: capture listeners on 15001 and
     * 15006 for traffic iptables redirected, automatic mesh mTLS, AuthorizationPolicy on inbound).
     */
    @WithDefault("router")
    String mode();

    /** The workload's canonical service name for metrics (Istio's {@code service.istio.io/canonical-name}). */
    Optional<String> canonicalService();

    /**
     * The workload's canonical revision for metrics (Istio's {@code service.istio.io/canonical-revision}, which the
     * injector sets); unset: the {@code version} label, else {@code latest}.
     */
    Optional<String> canonicalRevision();

    /** Health port: {@code /healthz/ready} answers 200 once the first complete config is applied. */
    @WithDefault("15021")
    int statusPort();

    /**
     * Admin port, bound to 127.0.0.1 only: {@code /config_dump}, {@code /clusters}, {@code /certs}, {@code /logging}.
     * 0 picks a free port, -1 disables it.
     */
    @WithDefault("15000")
    int adminPort();

    /**
     * istio-agent's {@code --proxyLogLevel} (the injector sets it from {@code sidecar.istio.io/logLevel}): every
     * logger's level at start (trace, debug, info, warning, error, critical, off). Unset: the Quarkus log config's.
     */
    Optional<String> logLevel();

    /**
     * istio-agent's {@code --proxyComponentLogLevel} ({@code sidecar.istio.io/componentLogLevel}): some loggers'
     * levels at start, {@code name:level,...} (e.g. {@code router:debug,config:warning}), after {@link #logLevel()}.
     */
    Optional<String> componentLogLevel();

    /**
     * An Envoy bootstrap (JSON) whose static_resources are applied before xDS. Used by the benchmark and
     * for running without pilot.
     */
    Optional<String> bootstrapFile();

    /**
     * The TLS implementation of listeners, mesh mTLS and TLS origination: {@code openssl} (BoringSSL via
     * netty-tcnative; the JDK's when the native library cannot load) or {@code jdk}. See {@code tls.TlsEngine}.
     */
    @WithDefault("openssl")
    String tlsEngine();

    /** Where local state may be kept (set by the local runner). */
    Optional<String> stateDir();

    Listeners listeners();

    Limits limits();

    Xds xds();

    Node node();

    Telemetry telemetry();

    /** Istio's pilot-agent contract on the monitoring port: merged metrics and app probes (package {@code agent}). */
    Agent agent();

    /** The proxy's own workload certificate from citadel. */
    Ca ca();

    /** SPIFFE trust domain of the mesh: the proxy's identity and pilot's must belong to it. */
    @WithDefault("cluster.local")
    String trustDomain();

    /** Citadel, which issues the proxy's certificate (Istio's SDS secrets {@code default} and {@code ROOTCA}). */
    interface Ca {
        /** citadel's gRPC {@code host:port} (TLS, 8060). Unset: no workload identity, ISTIO_MUTUAL clusters answer 503 UF. */
        Optional<String> address();

        /** Bearer token sent to citadel: a Kubernetes ServiceAccount token or a local bootstrap token, re-read at each request. */
        Optional<String> tokenFile();

        /** PEM roots: trust for citadel's TLS and the mesh root (ROOTCA). Required with {@code address}. */
        Optional<String> rootCertFile();

        /** The certificate lifetime asked of citadel (Istio's SECRET_TTL); renewal happens at half of it. */
        @WithDefault("24h")
        Duration ttl();
    }

    /** Data-plane listener settings. Listener ports come from LDS; 80 and 443 are remapped as below. */
    interface Listeners {
        /** Overrides the bind address of every listener (e.g. 127.0.0.1 locally). */
        Optional<String> host();

        /** LDS port 80 binds here (Istio's ingress gateway serves 80 on container port 8080). */
        @WithDefault("8080")
        int httpPort();

        /** LDS port 443 binds here. */
        @WithDefault("8443")
        int httpsPort();

        /** Event loops serving the listeners; 0 means one per CPU. */
        @WithDefault("0")
        int eventLoops();

        /**
         * The Netty-level forwarding path for plain HTTP/1.1 requests on plaintext listeners (see the README's
         * "Fast path"): requests whose route and cluster need only what it implements skip Vert.x's HttpServer and
         * HttpClient; everything else takes the Vert.x path as before. false = every request takes the Vert.x path.
         */
        @WithDefault("true")
        boolean fastPath();

        /** How long shutdown waits for in-flight requests after it stops accepting. */
        @WithDefault("5s")
        Duration drainTimeout();

        /** Listener port remap, e.g. {@code mesh.gateway.listeners.port-map."8080"=18080}. */
        Map<String, Integer> portMap();

        default int bindPort(int ldsPort) {
            Integer mapped = portMap().get(Integer.toString(ldsPort));
            if (mapped != null) {
                return mapped;
            }
            return ldsPort == 80 ? httpPort() : ldsPort == 443 ? httpsPort() : ldsPort;
        }
    }

    /** Protection against hostile or broken clients. */
    interface Limits {
        /** Total size of request headers; larger gets 431. */
        @WithDefault("61440")
        int maxHeaderBytes();

        /** Number of request headers; more gets 431. */
        @WithDefault("100")
        int maxHeaders();

        /** Length of the request line's URI; longer gets 414. */
        @WithDefault("8192")
        int maxUriLength();

        /** Request body size; larger gets 413. 0 means no limit (bodies stream). */
        @WithDefault("0")
        long maxBodyBytes();

        /**
         * A connection with no traffic in either direction for this long is closed (idle keep-alive
         * connections). Streams that are moving data are never cut by it.
         */
        @WithDefault("60s")
        Duration idleTimeout();

        /**
         * A request head (request line and headers) must be complete this long after the connection is accepted
         * (TLS handshake included), or, on a keep-alive connection, after its first byte; else the connection is
         * closed, even if bytes keep trickling in (slowloris). Envoy's {@code request_headers_timeout}. 0 = off.
         */
        @WithDefault("10s")
        Duration requestHeaderTimeout();

        /** Open downstream connections (counted from accept), over all listeners; more are closed at once. */
        @WithDefault("8192")
        int maxConnections();

        /** Request bodies up to this size are buffered so the request can be retried. */
        @WithDefault("65536")
        int retryBufferBytes();

        /**
         * How far a mirror (a route's {@code request_mirror_policies}) may fall behind the upstream as the request
         * body streams to both: bytes queued while it connects, or written but not yet taken by its socket. Beyond
         * this its copy of the request is aborted (its connection reset); the original is never held back for it.
         * Envoy's shadows have the same bound, its per-request buffer limit (1 MiB by default).
         */
        @WithDefault("1048576")
        int mirrorBufferBytes();
    }

    /** The ADS client of pilot. */
    interface Xds {
        /** pilot's xDS address: plaintext 15010, or mutual TLS 15012 (see {@code tls}). */
        @WithDefault("127.0.0.1:15010")
        String address();

        /**
         * {@code auto}, {@code true} or {@code false}: connect to pilot over mutual TLS with the workload identity
         * ({@code mesh.gateway.ca.*}). {@code auto} means TLS when the address's port is 15012.
         */
        @WithDefault("auto")
        String tls();

        /** Whether the ADS stream uses mutual TLS; a bad {@code tls} value is an error here, not a silent plaintext. */
        default boolean useTls() {
            return switch (tls().trim().toLowerCase(java.util.Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                case "auto" -> address().endsWith(":15012");
                default -> throw new IllegalArgumentException("mesh.gateway.xds.tls must be auto, true or false, not '"
                        + tls() + "'");
            };
        }

        /** false runs on the bootstrap file alone. */
        @WithDefault("true")
        boolean enabled();

        @WithDefault("500ms")
        Duration initialBackoff();

        @WithDefault("30s")
        Duration maxBackoff();
    }

    /** The node this proxy announces to pilot. */
    interface Node {
        /** Defaults to {@code <mode>~<ip>~<hostname>.<namespace>~<namespace>.svc.cluster.local}. */
        Optional<String> id();

        /**
         * The workload's IP in the node id (a sidecar's pod IP, Istio's INSTANCE_IP, which the injector sets);
         * pilot finds the sidecar's inbound services by it. Defaults to the host's address.
         */
        Optional<String> ip();

        @WithDefault("istio-system")
        String namespace();

        @WithDefault("Kubernetes")
        String cluster();

        /**
         * Labels of this proxy's workload; Gateway (router) and policy (sidecar) selectors match them. Empty means
         * {@code istio=ingressgateway} for a router.
         */
        Map<String, String> labels();

        /**
         * Where this proxy runs, "region/zone/subzone" (parts may be empty): the xDS node's locality, which pilot uses
         * for locality load balancing when its registry does not know the proxy's pod (as istiod does).
         */
        Optional<String> locality();
    }

    /** Access log and tracing. */
    interface Telemetry {
        /** A JSON line per request on the {@code io.mesh.gateway.access} logger. */
        @WithDefault("true")
        boolean accessLog();

        /** Percentage of new traces (without an incoming traceparent) that are sampled. */
        @WithDefault("1.0")
        double traceSampling();
    }

    /** What the injector hands the sidecar (Istio's env names are the fallbacks, see application.properties). */
    interface Agent {
        /** JSON {@code {"scrape":"true","path":"/metrics","port":"8080"}}: the app's metrics to merge into /stats/prometheus. */
        Optional<String> prometheusAnnotations();

        /** JSON {@code {"/app-health/<c>/readyz": {"httpGet"|"tcpSocket"|"grpc": {...}, "timeoutSeconds": n}}}. */
        Optional<String> appProbers();

        /** Where the app is reached for scrapes and probes. */
        @WithDefault("127.0.0.1")
        String appAddress();

        /** Longest wait for the app's metrics, unless Prometheus's X-Prometheus-Scrape-Timeout-Seconds is shorter. */
        @WithDefault("10s")
        Duration scrapeTimeout();

        /** Largest app exposition merged; a bigger one counts as a failed scrape. */
        @WithDefault("16777216")
        int scrapeMaxBytes();
    }
}
