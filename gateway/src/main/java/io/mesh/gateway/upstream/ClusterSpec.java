package io.mesh.gateway.upstream;

import java.util.List;

/**
 * A cluster as CDS defines it, immutable. {@code edsName} is non-null when endpoints come from EDS;
 * otherwise {@code staticEndpoints} holds the load assignment. {@code upstreamPortOverride}: for an ORIGINAL_DST
 * cluster, the port its connections go to at the original destination instead of the one the app used
 * ({@code original_dst_lb_config.upstream_port_override}, istiod's targetPort of a {@code resolution: NONE}
 * ServiceEntry); 0 for none. {@code localityWeighted}: {@code common_lb_config.locality_weighted_lb_config}, so a
 * priority's traffic is shared among its localities by their load_balancing_weight (Envoy's locality weighted LB).
 * {@code service}: the host of the first service in the cluster's {@code istio} metadata ({@code services[0].host},
 * which istiod writes for telemetry), or null: Istio's {@code destination_service} of what goes through the cluster.
 * {@code panicThreshold}: {@code common_lb_config.healthy_panic_threshold} as a rounded percent (Envoy's default 50;
 * 0 = never panic): below it a priority's hosts are all used, whatever their health ({@link Priorities}).
 * {@code keepalive}: {@code upstream_connection_options.tcp_keepalive} (null: none), SO_KEEPALIVE on every upstream
 * connection. {@code maxConnectionDurationMs}: {@code common_http_protocol_options.max_connection_duration} (0: none),
 * the age past which an upstream HTTP connection takes no new request and is closed once idle.
 * {@code socketMatches}: {@code transport_socket_matches}, tried in order per endpoint before {@code tls} (the cluster's
 * {@code transport_socket}, null: plaintext); each endpoint's choice is made once, when the endpoints are set
 * ({@link #transportFor}). {@code overrideHostStatus}: {@code common_lb_config.override_host_status} as a bit per
 * {@link Endpoint.Health} ordinal ({@link #overrides}): the health an endpoint must have for a stateful session to
 * send a request there past the load balancer (Envoy's default {@link #DEFAULT_OVERRIDE_HOST_STATUS}).
 * {@code slowStart}: the round robin or least request balancer's slow start ({@link SlowStart}), or null.
 * {@code maxConcurrentStreams}: the streams an upstream HTTP/2 connection carries at most
 * ({@code http2_protocol_options.max_concurrent_streams}; more open another connection), or 0 for no limit of its own.
 */
public record ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
        UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
        List<Endpoint> staticEndpoints, int ringSize, int upstreamPortOverride, boolean localityWeighted,
        String service, int panicThreshold, TcpKeepalive keepalive, long maxConnectionDurationMs,
        List<TransportSocketMatch> socketMatches, int overrideHostStatus, SlowStart slowStart,
        int maxConcurrentStreams) {

    /** Envoy's override host statuses when the cluster sets none: UNKNOWN, HEALTHY and DEGRADED. */
    public static final int DEFAULT_OVERRIDE_HOST_STATUS = (1 << Endpoint.Health.HEALTHY.ordinal())
            | (1 << Endpoint.Health.DEGRADED.ordinal());

    public ClusterSpec {
        socketMatches = socketMatches == null ? List.of() : List.copyOf(socketMatches);
    }

    /** A cluster without a limit of its own on an HTTP/2 connection's streams. */
    public ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
            UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
            List<Endpoint> staticEndpoints, int ringSize, int upstreamPortOverride, boolean localityWeighted,
            String service, int panicThreshold, TcpKeepalive keepalive, long maxConnectionDurationMs,
            List<TransportSocketMatch> socketMatches, int overrideHostStatus, SlowStart slowStart) {
        this(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, tls, edsName, staticEndpoints,
                ringSize, upstreamPortOverride, localityWeighted, service, panicThreshold, keepalive,
                maxConnectionDurationMs, socketMatches, overrideHostStatus, slowStart, 0);
    }

    /** A cluster without slow start. */
    public ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
            UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
            List<Endpoint> staticEndpoints, int ringSize, int upstreamPortOverride, boolean localityWeighted,
            String service, int panicThreshold, TcpKeepalive keepalive, long maxConnectionDurationMs,
            List<TransportSocketMatch> socketMatches, int overrideHostStatus) {
        this(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, tls, edsName, staticEndpoints,
                ringSize, upstreamPortOverride, localityWeighted, service, panicThreshold, keepalive,
                maxConnectionDurationMs, socketMatches, overrideHostStatus, null);
    }

    /** A cluster with Envoy's default override host statuses. */
    public ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
            UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
            List<Endpoint> staticEndpoints, int ringSize, int upstreamPortOverride, boolean localityWeighted,
            String service, int panicThreshold, TcpKeepalive keepalive, long maxConnectionDurationMs,
            List<TransportSocketMatch> socketMatches) {
        this(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, tls, edsName, staticEndpoints,
                ringSize, upstreamPortOverride, localityWeighted, service, panicThreshold, keepalive,
                maxConnectionDurationMs, socketMatches, DEFAULT_OVERRIDE_HOST_STATUS);
    }

    /** Whether a session may name an endpoint of this health ({@link Endpoint.Health#ordinal}, ejected: UNHEALTHY). */
    public boolean overrides(int health) {
        return (overrideHostStatus & (1 << health)) != 0;
    }

    /** A cluster without transport socket matches. */
    public ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
            UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
            List<Endpoint> staticEndpoints, int ringSize, int upstreamPortOverride, boolean localityWeighted,
            String service, int panicThreshold, TcpKeepalive keepalive, long maxConnectionDurationMs) {
        this(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, tls, edsName, staticEndpoints,
                ringSize, upstreamPortOverride, localityWeighted, service, panicThreshold, keepalive,
                maxConnectionDurationMs, List.of());
    }

    /** Envoy's default {@code healthy_panic_threshold}, in percent. */
    public static final int DEFAULT_PANIC_THRESHOLD = 50;

    /** A cluster without TCP keepalive or a maximum connection duration. */
    public ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
            UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
            List<Endpoint> staticEndpoints, int ringSize, int upstreamPortOverride, boolean localityWeighted,
            String service, int panicThreshold) {
        this(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, tls, edsName, staticEndpoints,
                ringSize, upstreamPortOverride, localityWeighted, service, panicThreshold, null, 0);
    }

    /** A cluster with Envoy's default panic threshold. */
    public ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
            UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
            List<Endpoint> staticEndpoints, int ringSize, int upstreamPortOverride, boolean localityWeighted,
            String service) {
        this(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, tls, edsName, staticEndpoints,
                ringSize, upstreamPortOverride, localityWeighted, service, DEFAULT_PANIC_THRESHOLD);
    }

    /** A cluster that is not locality-weighted, without telemetry metadata. */
    public ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
            UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
            List<Endpoint> staticEndpoints, int ringSize, int upstreamPortOverride) {
        this(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, tls, edsName, staticEndpoints,
                ringSize, upstreamPortOverride, false, null);
    }

    /** A cluster without an upstream port override. */
    public ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
            UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
            List<Endpoint> staticEndpoints, int ringSize) {
        this(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, tls, edsName, staticEndpoints,
                ringSize, 0);
    }

    /** The same cluster with other TLS settings (its SDS secrets resolved). */
    public ClusterSpec withTls(UpstreamTls resolved) {
        return withTls(resolved, socketMatches);
    }

    /** The same cluster with other TLS settings, its own and its matches' (their SDS secrets resolved). */
    public ClusterSpec withTls(UpstreamTls resolved, List<TransportSocketMatch> matches) {
        return new ClusterSpec(name, lbPolicy, connectTimeoutMs, idleTimeoutMs, protocol, breakers, outlier, resolved,
                edsName, staticEndpoints, ringSize, upstreamPortOverride, localityWeighted, service, panicThreshold,
                keepalive, maxConnectionDurationMs, matches, overrideHostStatus, slowStart, maxConcurrentStreams);
    }

    /**
     * The cluster's transports, indexed as {@link #transportFor} answers: 0 is its own {@code transport_socket}
     * ({@code tls}), {@code i + 1} the i-th match's; a null entry is plaintext.
     */
    public List<UpstreamTls> transports() {
        List<UpstreamTls> out = new java.util.ArrayList<>(socketMatches.size() + 1);
        out.add(tls);
        socketMatches.forEach(m -> out.add(m.tls()));
        return java.util.Collections.unmodifiableList(out);
    }

    /** The transport of an endpoint with this match metadata: the first match's ({@code i + 1}), else 0. */
    public int transportFor(java.util.Map<String, com.google.protobuf.Value> endpointMetadata) {
        for (int i = 0; i < socketMatches.size(); i++) {
            if (socketMatches.get(i).matches(endpointMetadata)) {
                return i + 1;
            }
        }
        return 0;
    }

    /** The name of a transport for the admin view: the match's name, or {@code transport_socket} for 0. */
    public String transportName(int transport) {
        return transport == 0 ? "transport_socket" : socketMatches.get(transport - 1).name();
    }

    /** The port to dial at an original destination the app was connecting to at {@code port}. */
    public int originalDstPort(int port) {
        return upstreamPortOverride > 0 ? upstreamPortOverride : port;
    }

    /**
     * Two specs that differ only in endpoints keep the same connection pools (and the Upstream, whose spec stays the
     * old one: so anything that decides where a connection goes is compared too).
     */
    public boolean sameTransport(ClusterSpec o) {
        return o != null && lbPolicy == o.lbPolicy && connectTimeoutMs == o.connectTimeoutMs
                && idleTimeoutMs == o.idleTimeoutMs && protocol == o.protocol && breakers.equals(o.breakers)
                && java.util.Objects.equals(outlier, o.outlier) && java.util.Objects.equals(tls, o.tls)
                && ringSize == o.ringSize && upstreamPortOverride == o.upstreamPortOverride
                && localityWeighted == o.localityWeighted && panicThreshold == o.panicThreshold
                && java.util.Objects.equals(keepalive, o.keepalive)
                && maxConnectionDurationMs == o.maxConnectionDurationMs && socketMatches.equals(o.socketMatches)
                && overrideHostStatus == o.overrideHostStatus;
    }
}
