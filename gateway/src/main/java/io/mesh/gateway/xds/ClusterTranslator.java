package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.mesh.gateway.upstream.CircuitBreakers;
import io.mesh.gateway.upstream.ClusterSpec;
import io.mesh.gateway.upstream.Endpoint;
import io.mesh.gateway.upstream.LbPolicy;
import io.mesh.gateway.upstream.OutlierPolicy;
import io.mesh.gateway.upstream.TcpKeepalive;
import io.mesh.gateway.upstream.TransportSocketMatch;
import io.mesh.gateway.upstream.UpstreamProtocol;
import io.mesh.gateway.upstream.UpstreamTls;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** CDS Cluster → {@link ClusterSpec}, and EDS ClusterLoadAssignment → endpoints. */
public final class ClusterTranslator {

    static final String HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
    static final String UPSTREAM_TLS_TYPE = "type.googleapis.com/" + UpstreamTlsContext.getDescriptor().getFullName();

    private ClusterTranslator() {
    }

    public static ClusterSpec translate(Cluster c) throws ConfigRejected {
        String where = "cluster " + c.getName();
        String eds = null;
        List<Endpoint> statics = List.of();
        int portOverride = 0;
        Cluster.DiscoveryType type = c.getClusterDiscoveryTypeCase() == Cluster.ClusterDiscoveryTypeCase.TYPE
                ? c.getType() : null;
        if (type == null) {
            throw new ConfigRejected(where + ": custom cluster types are not supported");
        }
        switch (type) {
            case EDS -> eds = c.getEdsClusterConfig().getServiceName().isEmpty() ? c.getName()
                    : c.getEdsClusterConfig().getServiceName();
            case STATIC, STRICT_DNS, LOGICAL_DNS -> statics = endpoints(c.getLoadAssignment());
            case ORIGINAL_DST -> {
                // Envoy's passthrough: each connection goes to where it was headed before capture.
                portOverride = originalDstPort(c, where);
            }
            default -> throw new ConfigRejected(where + ": unsupported discovery type " + type);
        }
        LbPolicy lb = type == Cluster.DiscoveryType.ORIGINAL_DST ? LbPolicy.ORIGINAL_DST : switch (c.getLbPolicy()) {
            case ROUND_ROBIN -> LbPolicy.ROUND_ROBIN;
            case LEAST_REQUEST -> LbPolicy.LEAST_REQUEST;
            case RANDOM -> LbPolicy.RANDOM;
            case RING_HASH, MAGLEV -> LbPolicy.RING_HASH;
            default -> throw new ConfigRejected(where + ": unsupported lb_policy " + c.getLbPolicy());
        };
        CircuitBreakers cb = CircuitBreakers.DEFAULTS;
        for (var t : c.getCircuitBreakers().getThresholdsList()) {
            if (t.getPriority() == RoutingPriority.DEFAULT) {
                cb = new CircuitBreakers(
                        t.hasMaxConnections() ? t.getMaxConnections().getValue() : cb.maxConnections(),
                        t.hasMaxPendingRequests() ? t.getMaxPendingRequests().getValue() : cb.maxPendingRequests(),
                        t.hasMaxRequests() ? t.getMaxRequests().getValue() : cb.maxRequests(),
                        t.hasMaxRetries() ? t.getMaxRetries().getValue() : cb.maxRetries(),
                        t.hasMaxConnections() || cb.maxConnectionsSet());
            }
        }
        OutlierPolicy outlier = null;
        if (c.hasOutlierDetection()) {
            var o = c.getOutlierDetection();
            int c5 = o.hasEnforcingConsecutive5Xx() && o.getEnforcingConsecutive5Xx().getValue() == 0 ? 0
                    : o.hasConsecutive5Xx() ? o.getConsecutive5Xx().getValue() : 5;
            // Envoy enforces gateway failures only when asked (enforcing default 0); Istio always asks.
            int cg = o.hasEnforcingConsecutiveGatewayFailure() && o.getEnforcingConsecutiveGatewayFailure().getValue() > 0
                    ? (o.hasConsecutiveGatewayFailure() ? o.getConsecutiveGatewayFailure().getValue() : 5) : 0;
            long base = o.hasBaseEjectionTime() ? RouteTranslator.millis(o.getBaseEjectionTime()) : 30_000;
            long max = o.hasMaxEjectionTime() ? RouteTranslator.millis(o.getMaxEjectionTime()) : Math.max(300_000, base);
            int pct = o.hasMaxEjectionPercent() ? o.getMaxEjectionPercent().getValue() : 10;
            outlier = new OutlierPolicy(c5, cg, base, max, pct);
        }
        UpstreamProtocol protocol = UpstreamProtocol.HTTP1;
        long idle = 3_600_000;
        long maxDuration = 0;
        boolean autoSni = false;
        boolean autoSan = false;
        int maxStreams = 0;
        if (c.hasHttp2ProtocolOptions()) {
            protocol = UpstreamProtocol.HTTP2;
            maxStreams = maxConcurrentStreams(c.getHttp2ProtocolOptions());
        }
        Any opts = c.getTypedExtensionProtocolOptionsMap().get(HTTP_OPTIONS);
        if (opts != null) {
            HttpProtocolOptions h = ListenerTranslator.unpack(opts, HttpProtocolOptions.class, where);
            switch (h.getUpstreamProtocolOptionsCase()) {
                case EXPLICIT_HTTP_CONFIG -> {
                    protocol = h.getExplicitHttpConfig().hasHttp2ProtocolOptions()
                            ? UpstreamProtocol.HTTP2 : UpstreamProtocol.HTTP1;
                    maxStreams = maxConcurrentStreams(h.getExplicitHttpConfig().getHttp2ProtocolOptions());
                }
                case USE_DOWNSTREAM_PROTOCOL_CONFIG -> protocol = UpstreamProtocol.DOWNSTREAM;
                case AUTO_CONFIG -> protocol = UpstreamProtocol.HTTP1;
                default -> { }
            }
            if (h.getCommonHttpProtocolOptions().hasIdleTimeout()) {
                idle = RouteTranslator.millis(h.getCommonHttpProtocolOptions().getIdleTimeout());
            }
            if (h.getCommonHttpProtocolOptions().hasMaxConnectionDuration()) {
                maxDuration = maxConnectionDuration(h.getCommonHttpProtocolOptions().getMaxConnectionDuration(), where);
            }
            var upstreamOptions = h.getUpstreamHttpProtocolOptions();
            if (!upstreamOptions.getOverrideAutoSniHeader().isEmpty()) {
                throw new ConfigRejected(where + ": upstream_http_protocol_options.override_auto_sni_header is not"
                        + " supported (the SNI comes from the Host)");
            }
            autoSni = upstreamOptions.getAutoSni();
            autoSan = upstreamOptions.getAutoSanValidation();
        }
        UpstreamTls tls = c.hasTransportSocket() ? transportSocket(c.getTransportSocket(), where) : null;
        boolean peerExchange = false;
        for (var f : c.getFiltersList()) {
            if (!f.getName().equals(TcpPeerExchangeTranslator.FILTER)) {
                throw new ConfigRejected(where + ": unsupported upstream filter " + f.getName() + " ("
                        + f.getTypedConfig().getTypeUrl() + ")");
            }
            TcpPeerExchangeTranslator.check(f.getTypedConfig(), where + " filter " + f.getName());
            peerExchange = true;
        }
        tls = withOptions(tls, peerExchange, autoSni, autoSan);
        List<TransportSocketMatch> matches = new ArrayList<>();
        for (int i = 0; i < c.getTransportSocketMatchesCount(); i++) {
            Cluster.TransportSocketMatch m = c.getTransportSocketMatches(i);
            String at = where + ": transport_socket_matches[" + i + "] (" + m.getName() + ")";
            if (!m.hasTransportSocket()) {
                throw new ConfigRejected(at + ": no transport_socket");
            }
            matches.add(new TransportSocketMatch(m.getName(), m.getMatch().getFieldsMap(),
                    withOptions(transportSocket(m.getTransportSocket(), at), peerExchange, autoSni, autoSan)));
        }
        long connect = c.hasConnectTimeout() ? RouteTranslator.millis(c.getConnectTimeout()) : 5_000;
        int ring = c.hasRingHashLbConfig() && c.getRingHashLbConfig().hasMinimumRingSize()
                ? (int) Math.min(1 << 16, c.getRingHashLbConfig().getMinimumRingSize().getValue()) : 1024;
        return new ClusterSpec(c.getName(), lb, connect, idle, protocol, cb, outlier, tls, eds, statics, ring,
                portOverride, c.getCommonLbConfig().hasLocalityWeightedLbConfig(), telemetryService(c),
                panicThreshold(c, where), keepalive(c), maxDuration, matches, overrideHostStatus(c, where),
                slowStart(c, lb, where), maxStreams);
    }

    /**
     * The round robin or least request balancer's {@code slow_start_config} (the one of the cluster's policy; Envoy reads
     * no other): null without a window; an aggression that is not above 0 or a minimum weight percent outside 0-100 is
     * refused, as Envoy's validation refuses them.
     */
    static io.mesh.gateway.upstream.SlowStart slowStart(Cluster c, LbPolicy lb, String where) throws ConfigRejected {
        Cluster.SlowStartConfig config = lb == LbPolicy.ROUND_ROBIN && c.hasRoundRobinLbConfig()
                ? c.getRoundRobinLbConfig().getSlowStartConfig()
                : lb == LbPolicy.LEAST_REQUEST && c.hasLeastRequestLbConfig()
                ? c.getLeastRequestLbConfig().getSlowStartConfig() : null;
        if (config == null || !config.hasSlowStartWindow()) {
            return null;
        }
        long window = RouteTranslator.millis(config.getSlowStartWindow()) * 1_000_000L;
        if (window <= 0) {
            return null;
        }
        double aggression = config.hasAggression() ? config.getAggression().getDefaultValue()
                : io.mesh.gateway.upstream.SlowStart.DEFAULT_AGGRESSION;
        if (!(aggression > 0)) {
            throw new ConfigRejected(where + ": slow_start_config.aggression must be above 0, got " + aggression);
        }
        double min = config.hasMinWeightPercent() ? config.getMinWeightPercent().getValue()
                : io.mesh.gateway.upstream.SlowStart.DEFAULT_MIN_WEIGHT_PERCENT;
        if (!(min >= 0 && min <= 100)) {
            throw new ConfigRejected(where + ": slow_start_config.min_weight_percent must be between 0 and 100, got "
                    + min);
        }
        return new io.mesh.gateway.upstream.SlowStart(window, aggression, min);
    }

    /**
     * {@code common_lb_config.override_host_status} as {@link ClusterSpec#overrideHostStatus} bits, as Envoy's
     * HostUtility::createOverrideHostStatus reads it: UNKNOWN counts as HEALTHY and TIMEOUT as UNHEALTHY; unset, Envoy's
     * default (UNKNOWN, HEALTHY, DEGRADED); set and empty, none. An unknown status is rejected.
     */
    static int overrideHostStatus(Cluster c, String where) throws ConfigRejected {
        if (!c.getCommonLbConfig().hasOverrideHostStatus()) {
            return io.mesh.gateway.upstream.ClusterSpec.DEFAULT_OVERRIDE_HOST_STATUS;
        }
        int bits = 0;
        for (var st : c.getCommonLbConfig().getOverrideHostStatus().getStatusesList()) {
            Endpoint.Health h = switch (st) {
                case UNKNOWN, HEALTHY -> Endpoint.Health.HEALTHY;
                case DEGRADED -> Endpoint.Health.DEGRADED;
                case UNHEALTHY, TIMEOUT -> Endpoint.Health.UNHEALTHY;
                case DRAINING -> Endpoint.Health.DRAINING;
                default -> throw new ConfigRejected(where + ": common_lb_config.override_host_status: unknown status "
                        + st);
            };
            bits |= 1 << h.ordinal();
        }
        return bits;
    }

    static final String RAW_BUFFER_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";

    /**
     * A transport socket the proxy can originate: TLS ({@code UpstreamTlsContext}) or plaintext ({@code RawBuffer}, or
     * Envoy's raw_buffer named without a typed config: null); anything else is refused with its type.
     */
    private static UpstreamTls transportSocket(io.envoyproxy.envoy.config.core.v3.TransportSocket ts, String where)
            throws ConfigRejected {
        Any any = ts.getTypedConfig();
        if (any.getTypeUrl().equals(UPSTREAM_TLS_TYPE)) {
            return upstreamTls(ListenerTranslator.unpack(any, UpstreamTlsContext.class, where), where);
        }
        if (any.getTypeUrl().equals(RAW_BUFFER_TYPE)
                || (!ts.hasTypedConfig() && "envoy.transport_sockets.raw_buffer".equals(ts.getName()))) {
            return null;
        }
        throw new ConfigRejected(where + ": unsupported transport socket " + (ts.hasTypedConfig() ? any.getTypeUrl()
                : "named " + ts.getName() + " without a typed config"));
    }

    /**
     * A TLS transport with the cluster's options: its Istio metadata exchange filter makes its relays exchange workload
     * metadata, and its HTTP protocol options' auto SNI and SAN validation apply to every TLS transport.
     */
    private static UpstreamTls withOptions(UpstreamTls tls, boolean peerExchange, boolean autoSni, boolean autoSan) {
        if (tls == null) {
            return null;
        }
        UpstreamTls t = peerExchange ? tls.withPeerExchange() : tls;
        return autoSni || autoSan ? t.withAuto(autoSni, autoSan) : t;
    }

    /**
     * {@code upstream_connection_options.tcp_keepalive} (istiod's from a DestinationRule's {@code tcpKeepalive}): null
     * when absent; an empty one is SO_KEEPALIVE with the OS defaults; a value too large for the kernel's int is clamped.
     */
    static TcpKeepalive keepalive(Cluster c) {
        if (!c.getUpstreamConnectionOptions().hasTcpKeepalive()) {
            return null;
        }
        var k = c.getUpstreamConnectionOptions().getTcpKeepalive();
        return new TcpKeepalive(clampInt(k.getKeepaliveProbes().getValue()), clampInt(k.getKeepaliveTime().getValue()),
                clampInt(k.getKeepaliveInterval().getValue()));
    }

    private static int clampInt(int unsigned) {
        return (int) Math.min(Integer.MAX_VALUE, Integer.toUnsignedLong(unsigned));
    }

    /** {@code max_connection_duration} in ms (0, or under a millisecond: none, as Envoy reads 0); negative refused. */
    /**
     * {@code max_concurrent_streams} of upstream HTTP/2 options, or 0 when not set (Envoy's default, 2^31 - 1, is no
     * limit beyond the circuit breaker's requests). Values past {@code Integer.MAX_VALUE} are that.
     */
    private static int maxConcurrentStreams(io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions h2) {
        if (!h2.hasMaxConcurrentStreams()) {
            return 0;
        }
        return (int) Math.min(Integer.MAX_VALUE, Integer.toUnsignedLong(h2.getMaxConcurrentStreams().getValue()));
    }

    private static long maxConnectionDuration(com.google.protobuf.Duration d, String where) throws ConfigRejected {
        if (d.getSeconds() < 0 || d.getNanos() < 0) {
            throw new ConfigRejected(where + ": common_http_protocol_options.max_connection_duration must not be negative");
        }
        return RouteTranslator.millis(d);
    }

    /**
     * {@code common_lb_config.healthy_panic_threshold} as Envoy reads it (PROTOBUF_PERCENT_TO_ROUNDED_INTEGER_OR_DEFAULT:
     * rounded, default 50); a value that is no percentage is refused, as Envoy's validation refuses it.
     */
    private static int panicThreshold(Cluster c, String where) throws ConfigRejected {
        if (!c.getCommonLbConfig().hasHealthyPanicThreshold()) {
            return ClusterSpec.DEFAULT_PANIC_THRESHOLD;
        }
        double v = c.getCommonLbConfig().getHealthyPanicThreshold().getValue();
        if (!(v >= 0 && v <= 100)) {
            throw new ConfigRejected(where + ": common_lb_config.healthy_panic_threshold must be between 0 and 100, got "
                    + v);
        }
        return (int) Math.round(v);
    }

    /**
     * {@code services[0].host} of the cluster's {@code istio} filter metadata (istiod's telemetry metadata), as Istio's
     * stats filter reads it for {@code destination_service}; null when absent or not of that shape.
     */
    static String telemetryService(Cluster c) {
        var istio = c.getMetadata().getFilterMetadataMap().get("istio");
        if (istio == null) {
            return null;
        }
        var services = istio.getFieldsMap().get("services");
        if (services == null || !services.hasListValue() || services.getListValue().getValuesCount() == 0) {
            return null;
        }
        var first = services.getListValue().getValues(0);
        var host = first.hasStructValue() ? first.getStructValue().getFieldsMap().get("host") : null;
        return host == null || !host.hasStringValue() || host.getStringValue().isEmpty() ? null : host.getStringValue();
    }

    /**
     * An ORIGINAL_DST cluster's {@code original_dst_lb_config}: {@code upstream_port_override} (istiod's targetPort of a
     * {@code resolution: NONE} ServiceEntry) is honoured; choosing the destination by an HTTP header or by metadata is
     * not supported, so it is NACKed rather than ignored. 0: no override.
     */
    private static int originalDstPort(Cluster c, String where) throws ConfigRejected {
        if (!c.hasOriginalDstLbConfig()) {
            return 0;
        }
        Cluster.OriginalDstLbConfig o = c.getOriginalDstLbConfig();
        if (o.getUseHttpHeader() || o.hasMetadataKey()) {
            throw new ConfigRejected(where + ": original_dst_lb_config supports upstream_port_override only, not "
                    + (o.getUseHttpHeader() ? "use_http_header" : "metadata_key"));
        }
        if (!o.hasUpstreamPortOverride()) {
            return 0;
        }
        int port = o.getUpstreamPortOverride().getValue();
        if (port < 1 || port > 65535) {
            throw new ConfigRejected(where + ": original_dst_lb_config.upstream_port_override must be between 1 and "
                    + "65535, got " + Integer.toUnsignedString(port));
        }
        return port;
    }

    private static UpstreamTls upstreamTls(UpstreamTlsContext ctx, String where) throws ConfigRejected {
        var common = ctx.getCommonTlsContext();
        String certSecret = null;
        String caSecret = null;
        if (common.getTlsCertificateSdsSecretConfigsCount() > 1) {
            throw new ConfigRejected(where + ": more than one client certificate");
        }
        if (common.getTlsCertificateSdsSecretConfigsCount() == 1) {
            certSecret = common.getTlsCertificateSdsSecretConfigs(0).getName();
        }
        var validation = common.hasValidationContext() ? common.getValidationContext()
                : common.hasCombinedValidationContext() ? common.getCombinedValidationContext().getDefaultValidationContext()
                : null;
        if (common.hasValidationContextSdsSecretConfig()) {
            caSecret = common.getValidationContextSdsSecretConfig().getName();
        } else if (common.hasCombinedValidationContext()
                && common.getCombinedValidationContext().hasValidationContextSdsSecretConfig()) {
            caSecret = common.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName();
        }
        String ca = validation != null && validation.hasTrustedCa() ? data(validation.getTrustedCa()) : null;
        if (validation != null && validation.hasTrustedCa() && ca == null) {
            // Never read as "no CA", which would verify nothing.
            throw new ConfigRejected(where + ": validation_context.trusted_ca cannot be read");
        }
        String cert = null;
        String key = null;
        if (common.getTlsCertificatesCount() > 0) {
            cert = data(common.getTlsCertificates(0).getCertificateChain());
            key = data(common.getTlsCertificates(0).getPrivateKey());
        }
        List<String> sans = new ArrayList<>();
        if (validation != null) {
            for (var m : validation.getMatchSubjectAltNamesList()) {
                sans.add(exact(m, where));
            }
            for (var m : validation.getMatchTypedSubjectAltNamesList()) {
                sans.add(exact(m.getMatcher(), where));
            }
        }
        // No trusted CA, validation SDS secret or SAN: Envoy verifies nothing (istiod's insecureSkipVerify).
        boolean verify = ca != null || caSecret != null || !sans.isEmpty();
        return new UpstreamTls(ctx.getSni().isEmpty() ? null : ctx.getSni(), ca, cert, key, List.copyOf(sans), certSecret, caSecret,
                false, List.copyOf(common.getAlpnProtocolsList()), false, verify, false, false);
    }

    /** Only exact SAN matchers are enforced; any other kind is refused rather than matched as an empty name. */
    private static String exact(io.envoyproxy.envoy.type.matcher.v3.StringMatcher m, String where) throws ConfigRejected {
        if (m.getMatchPatternCase() != io.envoyproxy.envoy.type.matcher.v3.StringMatcher.MatchPatternCase.EXACT
                || m.getExact().isEmpty()) {
            throw new ConfigRejected(where + ": match_subject_alt_names supports non-empty exact matchers only, got "
                    + m.getMatchPatternCase());
        }
        return m.getExact();
    }

    static String data(DataSource d) {
        return switch (d.getSpecifierCase()) {
            case INLINE_STRING -> d.getInlineString();
            case INLINE_BYTES -> d.getInlineBytes().toString(StandardCharsets.UTF_8);
            case FILENAME -> readFile(d.getFilename());
            default -> null;
        };
    }

    private static String readFile(String name) {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of(name));
        } catch (java.io.IOException e) {
            return null;
        }
    }

    static Endpoint.Health health(HealthStatus status) {
        return switch (status) {
            case UNHEALTHY, TIMEOUT -> Endpoint.Health.UNHEALTHY;
            case DRAINING -> Endpoint.Health.DRAINING;
            case DEGRADED -> Endpoint.Health.DEGRADED;
            default -> Endpoint.Health.HEALTHY;
        };
    }

    /**
     * The assignment's endpoints, each with its locality's priority, key and load_balancing_weight (Envoy: a locality
     * without one gets no traffic under locality-weighted load balancing) and its health_status as Envoy reads it
     * (envoy source/common/upstream/upstream_impl.cc setEdsHealthFlag): UNHEALTHY and TIMEOUT are hosts that are not
     * healthy, DRAINING excluded ones (both kept: they count in the priorities' health, and panic may pick them),
     * DEGRADED degraded ones, UNKNOWN and HEALTHY healthy.
     */
    static final String SOCKET_MATCH_METADATA = "envoy.transport_socket_match";

    public static List<Endpoint> endpoints(ClusterLoadAssignment cla) throws ConfigRejected {
        List<Endpoint> out = new ArrayList<>();
        for (LocalityLbEndpoints loc : cla.getEndpointsList()) {
            String locality = loc.getLocality().getRegion() + "/" + loc.getLocality().getZone() + "/"
                    + loc.getLocality().getSubZone();
            int localityWeight = loc.hasLoadBalancingWeight() ? loc.getLoadBalancingWeight().getValue() : 0;
            for (LbEndpoint e : loc.getLbEndpointsList()) {
                if (!e.getEndpoint().getAddress().hasSocketAddress()) {
                    throw new ConfigRejected("cluster load assignment " + cla.getClusterName()
                            + ": endpoint without a socket address");
                }
                var sa = e.getEndpoint().getAddress().getSocketAddress();
                int w = e.hasLoadBalancingWeight() ? e.getLoadBalancingWeight().getValue() : 1;
                // Its envoy.transport_socket_match metadata, which the cluster's transport_socket_matches are matched
                // against once, when the endpoints are set (istiod writes {tlsMode: istio} for mesh mTLS).
                var socketMatch = e.getMetadata().getFilterMetadataMap().get(SOCKET_MATCH_METADATA);
                out.add(new Endpoint(sa.getAddress(), sa.getPortValue(), Math.max(1, w), loc.getPriority(), locality,
                        localityWeight, health(e.getHealthStatus()),
                        socketMatch == null ? java.util.Map.of() : socketMatch.getFieldsMap()));
            }
        }
        return List.copyOf(out);
    }
}
