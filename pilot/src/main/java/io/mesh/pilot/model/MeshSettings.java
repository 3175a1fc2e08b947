package io.mesh.pilot.model;

import io.mesh.config.DestinationRule;
import io.mesh.config.PolicyConfig;

/**
 * Mesh-wide settings the generators read (Istio's MeshConfig subset): the SPIFFE trust domain of workload
 * identities, the default outbound traffic policy (a proxy's Sidecar resource may override it), the mesh-wide
 * {@code localityLbSetting} (a DestinationRule's own replaces it; Istio's default: enabled, failover by proximity), and
 * the telemetry proxies get where no Telemetry resource says otherwise: the access log file (MeshConfig accessLogFile;
 * empty: no access log) and the trace sampling percentage (MeshConfig defaultConfig.tracing.sampling). Also istiod's
 * feature flag {@code sendUnhealthyEndpoints} (PILOT_SEND_UNHEALTHY_ENDPOINTS): every service's not-ready endpoints go
 * to EDS ({@link ServiceModel#sendsUnhealthyEndpoints}). And MeshConfig {@code tcpKeepalive} (null: none): SO_KEEPALIVE
 * on the upstream connections of every cluster istiod applies a connection pool to, a DestinationRule's
 * {@code connectionPool.tcp.tcpKeepalive} overriding it field by field; validated as a DestinationRule's. And the access
 * log formats ({@link AccessLogFormats}: MeshConfig accessLogEncoding, accessLogFormat and the envoyFileAccessLog
 * extensionProviders). And istiod's feature flag {@code persistentSessionFilter} (PILOT_ENABLE_PERSISTENT_SESSION_FILTER,
 * off by default as in istiod): the stateful session filter in outbound and router HttpConnectionManagers and the
 * sessions of services labelled {@code istio.io/persistent-session(-header)} on their virtual hosts
 * ({@code io.mesh.pilot.generator.StatefulSessions}). And the {@code envoyExtAuthzHttp} extensionProviders
 * ({@link ExtAuthzProviders}) that AuthorizationPolicies of action CUSTOM name.
 */
public record MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
        DestinationRule.LocalityLbSetting localityLbSetting, String accessLogFile, double traceSampling,
        boolean sendUnhealthyEndpoints, DestinationRule.TcpKeepalive tcpKeepalive, AccessLogFormats accessLogFormats,
        boolean persistentSessionFilter, ExtAuthzProviders extAuthzProviders) {
    /** Istio's default path of its built-in "envoy" access log provider, and this mesh's default access log. */
    public static final String STDOUT = "/dev/stdout";
    /**
     * Istio's root namespace (MeshConfig rootNamespace, default istio-system): its PeerAuthentications and
     * AuthorizationPolicies apply mesh-wide, and its DestinationRules apply to services without one of their own.
     */
    public static final String ROOT_NAMESPACE = "istio-system";
    public static final MeshSettings DEFAULT = new MeshSettings("cluster.local",
            PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY);

    /** No envoyExtAuthzHttp provider. */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
            DestinationRule.LocalityLbSetting localityLbSetting, String accessLogFile, double traceSampling,
            boolean sendUnhealthyEndpoints, DestinationRule.TcpKeepalive tcpKeepalive, AccessLogFormats accessLogFormats,
            boolean persistentSessionFilter) {
        this(trustDomain, outboundTrafficPolicy, localityLbSetting, accessLogFile, traceSampling, sendUnhealthyEndpoints,
                tcpKeepalive, accessLogFormats, persistentSessionFilter, ExtAuthzProviders.NONE);
    }

    /** These settings with these envoyExtAuthzHttp providers. */
    public MeshSettings withExtAuthzProviders(ExtAuthzProviders providers) {
        return new MeshSettings(trustDomain, outboundTrafficPolicy, localityLbSetting, accessLogFile, traceSampling,
                sendUnhealthyEndpoints, tcpKeepalive, accessLogFormats, persistentSessionFilter, providers);
    }

    /** istiod's default: PILOT_ENABLE_PERSISTENT_SESSION_FILTER off. */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
            DestinationRule.LocalityLbSetting localityLbSetting, String accessLogFile, double traceSampling,
            boolean sendUnhealthyEndpoints, DestinationRule.TcpKeepalive tcpKeepalive, AccessLogFormats accessLogFormats) {
        this(trustDomain, outboundTrafficPolicy, localityLbSetting, accessLogFile, traceSampling, sendUnhealthyEndpoints,
                tcpKeepalive, accessLogFormats, false);
    }

    /** These settings with istiod's PILOT_ENABLE_PERSISTENT_SESSION_FILTER set as given. */
    public MeshSettings withPersistentSessionFilter(boolean enabled) {
        return new MeshSettings(trustDomain, outboundTrafficPolicy, localityLbSetting, accessLogFile, traceSampling,
                sendUnhealthyEndpoints, tcpKeepalive, accessLogFormats, enabled, extAuthzProviders);
    }

    /** Istio's default access log formats (TEXT, Istio's text format, no extension provider). */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
            DestinationRule.LocalityLbSetting localityLbSetting, String accessLogFile, double traceSampling,
            boolean sendUnhealthyEndpoints, DestinationRule.TcpKeepalive tcpKeepalive) {
        this(trustDomain, outboundTrafficPolicy, localityLbSetting, accessLogFile, traceSampling, sendUnhealthyEndpoints,
                tcpKeepalive, AccessLogFormats.DEFAULT);
    }

    /** Istio's default: no mesh-wide TCP keepalive. */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
            DestinationRule.LocalityLbSetting localityLbSetting, String accessLogFile, double traceSampling,
            boolean sendUnhealthyEndpoints) {
        this(trustDomain, outboundTrafficPolicy, localityLbSetting, accessLogFile, traceSampling, sendUnhealthyEndpoints,
                null);
    }

    /** istiod's default: PILOT_SEND_UNHEALTHY_ENDPOINTS off. */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
            DestinationRule.LocalityLbSetting localityLbSetting, String accessLogFile, double traceSampling) {
        this(trustDomain, outboundTrafficPolicy, localityLbSetting, accessLogFile, traceSampling, false);
    }

    /**
     * Istio's default mesh-wide locality load balancing (enabled) and this mesh's telemetry defaults: an access log on
     * stdout, 1% of new traces sampled.
     */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy) {
        this(trustDomain, outboundTrafficPolicy, null, STDOUT, 1.0);
    }

    /** A mesh-wide locality load balancing setting, with the telemetry defaults. */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
            DestinationRule.LocalityLbSetting localityLbSetting) {
        this(trustDomain, outboundTrafficPolicy, localityLbSetting, STDOUT, 1.0);
    }

    /** Telemetry defaults of its own, with the default locality load balancing. */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
            String accessLogFile, double traceSampling) {
        this(trustDomain, outboundTrafficPolicy, null, accessLogFile, traceSampling);
    }

    public MeshSettings {
        trustDomain = trustDomain == null || trustDomain.isBlank() ? "cluster.local" : trustDomain;
        outboundTrafficPolicy = outboundTrafficPolicy == null ? PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY
                : outboundTrafficPolicy;
        localityLbSetting = localityLbSetting == null ? DestinationRule.LocalityLbSetting.ENABLED : localityLbSetting;
        accessLogFile = accessLogFile == null || accessLogFile.isBlank() || accessLogFile.equals("off") ? ""
                : accessLogFile;
        if (Double.isNaN(traceSampling) || traceSampling < 0 || traceSampling > 100) {
            throw new IllegalArgumentException("trace sampling " + traceSampling + " is not a percentage (0 to 100)");
        }
        if (tcpKeepalive != null) {
            checkKeepalive(tcpKeepalive);
        }
        accessLogFormats = accessLogFormats == null ? AccessLogFormats.DEFAULT : accessLogFormats;
        extAuthzProviders = extAuthzProviders == null ? ExtAuthzProviders.NONE : extAuthzProviders;
    }

    /**
     * MeshConfig tcpKeepalive is the DestinationRule's message type; its fields are checked as istio's
     * validateConnectionPool checks a DestinationRule's: {@code time} and {@code interval} at least 1ms, to the
     * millisecond; {@code probes} not negative (a uint32).
     */
    private static void checkKeepalive(DestinationRule.TcpKeepalive k) {
        if (k.probes() != null && k.probes() < 0) {
            throw new IllegalArgumentException("mesh tcpKeepalive.probes " + k.probes() + " must not be negative");
        }
        checkDuration("time", k.time());
        checkDuration("interval", k.interval());
    }

    private static void checkDuration(String field, java.time.Duration d) {
        if (d == null) {
            return;
        }
        if (d.compareTo(java.time.Duration.ofMillis(1)) < 0) {
            throw new IllegalArgumentException("mesh tcpKeepalive." + field + " " + d + ": duration must be at least 1ms");
        }
        if (d.getNano() % 1_000_000 != 0) {
            throw new IllegalArgumentException("mesh tcpKeepalive." + field + " " + d
                    + ": only durations to ms precision are supported");
        }
    }

    /** The SPIFFE ID of a service account: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<account>}. */
    public String spiffeId(String namespace, String serviceAccount) {
        return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    }
}
