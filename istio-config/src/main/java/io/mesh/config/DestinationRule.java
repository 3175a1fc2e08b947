package io.mesh.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A validated DestinationRule: traffic policy for one host and its subsets.
 *
 * @param exportTo the namespaces whose proxies apply it ({@link ExportTo}); empty: all
 */
public record DestinationRule(String namespace, String name, String host, TrafficPolicy trafficPolicy,
        List<Subset> subsets, List<String> exportTo, Map<String, String> workloadSelector) {

    public DestinationRule {
        subsets = List.copyOf(subsets);
        exportTo = List.copyOf(exportTo);
        workloadSelector = workloadSelector == null ? null : Map.copyOf(workloadSelector);
    }

    /**
     * Whether this rule applies to the outbound traffic of a proxy in {@code proxyNamespace} with these labels, as far
     * as its {@code workloadSelector} goes (Istio: "applied only to the workload instances matching the workload
     * selector label in the same namespace"); a rule without one does not select (see MeshSnapshot's lookup).
     */
    public boolean selects(String proxyNamespace, Map<String, String> proxyLabels) {
        return workloadSelector != null && namespace.equals(proxyNamespace) && proxyLabels != null
                && workloadSelector.entrySet().stream().allMatch(e -> e.getValue().equals(proxyLabels.get(e.getKey())));
    }

    public record Subset(String name, Map<String, String> labels, TrafficPolicy trafficPolicy) {
        public Subset {
            labels = Map.copyOf(labels);
        }
    }

    /**
     * The policy for one port of the host, in one subset (null: the host's): merged as istiod merges it. The rule's
     * port-level settings for the port replace its load balancer, connection pool, outlier detection and TLS
     * (wholesale: what they leave out is not set, not inherited); the subset's policy then overrides field by field,
     * and the subset's own port-level settings for the port replace those four again.
     */
    public TrafficPolicy policyFor(int port, String subset) {
        TrafficPolicy p = trafficPolicy.atPort(port);
        if (subset != null) {
            for (Subset ss : subsets) {
                if (ss.name().equals(subset) && ss.trafficPolicy() != null) {
                    TrafficPolicy sp = ss.trafficPolicy();
                    p = sp.portLevel().containsKey(port) ? sp.atPort(port) : p.overriddenBy(sp);
                }
            }
        }
        return p;
    }

    /**
     * Any field may be null: "not set".
     *
     * @param portLevel {@code portLevelSettings}: by port number, a policy without port-level settings of its own
     */
    public record TrafficPolicy(LoadBalancer loadBalancer, ConnectionPool connectionPool,
            OutlierDetection outlierDetection, Tls tls, Map<Integer, TrafficPolicy> portLevel) {
        public static final TrafficPolicy NONE = new TrafficPolicy(null, null, null, null, Map.of());

        public TrafficPolicy {
            portLevel = portLevel == null ? Map.of() : Map.copyOf(portLevel);
        }

        /** The subset's policy overrides the rule's, field by field, as in Istio. */
        public TrafficPolicy overriddenBy(TrafficPolicy o) {
            if (o == null) {
                return this;
            }
            return new TrafficPolicy(o.loadBalancer != null ? o.loadBalancer : loadBalancer,
                    o.connectionPool != null ? o.connectionPool : connectionPool,
                    o.outlierDetection != null ? o.outlierDetection : outlierDetection, o.tls != null ? o.tls : tls,
                    Map.of());
        }

        /** This policy at one port: its port-level settings for the port if any (wholesale), else itself. */
        TrafficPolicy atPort(int port) {
            TrafficPolicy p = portLevel.get(port);
            return p != null ? p : portLevel.isEmpty() ? this
                    : new TrafficPolicy(loadBalancer, connectionPool, outlierDetection, tls, Map.of());
        }
    }

    public enum Simple { UNSPECIFIED, ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN, RANDOM, PASSTHROUGH }

    /**
     * {@code loadBalancer.warmup} (slow start for new endpoints), or the deprecated {@code warmupDurationSecs} with only
     * a duration ({@code minimumPercent} and {@code aggression} null, which istiod leaves to Envoy's defaults).
     */
    public record Warmup(Duration duration, Double minimumPercent, Double aggression) {
    }

    /**
     * Either simple, or consistent hashing on a header, cookie, source IP or query parameter. A hash cookie with a
     * {@code cookieTtl} is made by the proxy when a request has none ({@link Duration#ZERO}: a session cookie).
     */
    public record LoadBalancer(Simple simple, String hashHeader, String hashCookie, String cookiePath,
            Duration cookieTtl, boolean hashSourceIp, String hashQueryParameter, LocalityLbSetting localityLbSetting,
            Warmup warmup) {
        public LoadBalancer(Simple simple, String hashHeader, String hashCookie, String cookiePath, Duration cookieTtl,
                boolean hashSourceIp, String hashQueryParameter) {
            this(simple, hashHeader, hashCookie, cookiePath, cookieTtl, hashSourceIp, hashQueryParameter, null);
        }

        public LoadBalancer(Simple simple, String hashHeader, String hashCookie, String cookiePath, Duration cookieTtl,
                boolean hashSourceIp, String hashQueryParameter, LocalityLbSetting localityLbSetting) {
            this(simple, hashHeader, hashCookie, cookiePath, cookieTtl, hashSourceIp, hashQueryParameter,
                    localityLbSetting, null);
        }

        public boolean consistentHash() {
            return hashHeader != null || hashCookie != null || hashSourceIp || hashQueryParameter != null;
        }
    }

    /**
     * Istio's {@code localityLbSetting} (of a DestinationRule, or mesh-wide). {@code enabled}: null when not set;
     * {@code false} turns locality load balancing off for the rule (and the mesh-wide setting is then not used either).
     * Localities are "region/zone/subzone", a trailing "*" a wildcard.
     *
     * @param distribute       per source locality ({@code from}), the share of traffic (percent) per destination locality
     * @param failover         per source region, the region to fail over to before any other
     * @param failoverPriority labels (optionally "label=value") ranking endpoints by how many leading ones match the
     *                         proxy's
     */
    public record LocalityLbSetting(Boolean enabled, List<Distribute> distribute, List<Failover> failover,
            List<String> failoverPriority) {
        /** Istio's mesh default ({@code meshConfig.localityLbSetting: {enabled: true}}): failover by proximity. */
        public static final LocalityLbSetting ENABLED = new LocalityLbSetting(true, List.of(), List.of(), List.of());

        public LocalityLbSetting {
            distribute = List.copyOf(distribute);
            failover = List.copyOf(failover);
            failoverPriority = List.copyOf(failoverPriority);
        }

        public boolean disabled() {
            return Boolean.FALSE.equals(enabled);
        }

        public record Distribute(String from, Map<String, Integer> to) {
            public Distribute {
                to = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(to));
            }
        }

        public record Failover(String from, String to) {
        }
    }

    /**
     * {@code idleTimeout}: connectionPool.http.idleTimeout, how long an idle upstream connection is kept;
     * {@code h2Upgrade}: h2UpgradePolicy UPGRADE (HTTP/2 to an HTTP port); {@code useClientProtocol}: the upstream
     * request uses the downstream's HTTP version; {@code tcpIdleTimeout}: connectionPool.tcp.idleTimeout, the
     * tcp_proxy's {@code idle_timeout} (null: not set; {@link Duration#ZERO}: disabled); {@code tcpKeepalive}:
     * connectionPool.tcp.tcpKeepalive, SO_KEEPALIVE on upstream connections (null: not set);
     * {@code maxConnectionDuration}: connectionPool.tcp.maxConnectionDuration, the age past which an upstream connection
     * is drained (null: not set).
     */
    public record ConnectionPool(Integer maxConnections, Duration connectTimeout, Integer http1MaxPendingRequests,
            Integer http2MaxRequests, Integer maxRequestsPerConnection, Integer maxRetries, Duration idleTimeout,
            boolean h2Upgrade, boolean useClientProtocol, Duration tcpIdleTimeout, TcpKeepalive tcpKeepalive,
            Duration maxConnectionDuration, Integer maxConcurrentStreams) {
        /** Without {@code http.maxConcurrentStreams}. */
        public ConnectionPool(Integer maxConnections, Duration connectTimeout, Integer http1MaxPendingRequests,
                Integer http2MaxRequests, Integer maxRequestsPerConnection, Integer maxRetries, Duration idleTimeout,
                boolean h2Upgrade, boolean useClientProtocol, Duration tcpIdleTimeout, TcpKeepalive tcpKeepalive,
                Duration maxConnectionDuration) {
            this(maxConnections, connectTimeout, http1MaxPendingRequests, http2MaxRequests, maxRequestsPerConnection,
                    maxRetries, idleTimeout, h2Upgrade, useClientProtocol, tcpIdleTimeout, tcpKeepalive,
                    maxConnectionDuration, null);
        }

        public ConnectionPool(Integer maxConnections, Duration connectTimeout, Integer http1MaxPendingRequests,
                Integer http2MaxRequests, Integer maxRequestsPerConnection, Integer maxRetries, Duration idleTimeout,
                boolean h2Upgrade, boolean useClientProtocol, Duration tcpIdleTimeout) {
            this(maxConnections, connectTimeout, http1MaxPendingRequests, http2MaxRequests, maxRequestsPerConnection,
                    maxRetries, idleTimeout, h2Upgrade, useClientProtocol, tcpIdleTimeout, null, null);
        }

        public ConnectionPool(Integer maxConnections, Duration connectTimeout, Integer http1MaxPendingRequests,
                Integer http2MaxRequests, Integer maxRequestsPerConnection, Integer maxRetries, Duration idleTimeout,
                boolean h2Upgrade, boolean useClientProtocol) {
            this(maxConnections, connectTimeout, http1MaxPendingRequests, http2MaxRequests, maxRequestsPerConnection,
                    maxRetries, idleTimeout, h2Upgrade, useClientProtocol, null);
        }
    }

    /**
     * connectionPool.tcp.tcpKeepalive: {@code probes} (null: the OS default), {@code time} and {@code interval} (null:
     * the OS default). An empty one still turns SO_KEEPALIVE on, with the OS defaults.
     */
    public record TcpKeepalive(Integer probes, Duration time, Duration interval) {
    }

    /** {@code minHealthPercent}: istiod makes it the cluster's {@code healthy_panic_threshold} (unset: 0). */
    public record OutlierDetection(Integer consecutive5xxErrors, Integer consecutiveGatewayErrors, Duration interval,
            Duration baseEjectionTime, Integer maxEjectionPercent, Integer minHealthPercent) {
    }

    public enum TlsMode { DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL }

    /**
     * {@code insecureSkipVerify}: the upstream's certificate is not verified (istiod sends an empty validation
     * context; with a {@code credentialName}, none).
     */
    public record Tls(TlsMode mode, String sni, String credentialName, List<String> subjectAltNames,
            boolean insecureSkipVerify) {
        public Tls {
            subjectAltNames = List.copyOf(subjectAltNames);
        }

        /** Verified TLS. */
        public Tls(TlsMode mode, String sni, String credentialName, List<String> subjectAltNames) {
            this(mode, sni, credentialName, subjectAltNames, false);
        }
    }
}
