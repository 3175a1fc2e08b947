package io.mesh.gateway.model;

import io.mesh.gateway.rbac.Rbac;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.route.WeightedCluster;
import java.util.List;

/**
 * One filter chain of a listener: the SNI names it serves (empty = any), the SDS secret that terminates
 * TLS (null = plain HTTP), and its routes, by RDS name or inline. Sidecar listeners add Envoy's
 * filter_chain_match on the original destination port (0 = any) and the transport protocol ("tls",
 * "raw_buffer", or "" for any), a TCP proxy cluster instead of HTTP routes ({@code tcpCluster}), whether a
 * client certificate is required, the SDS secret of the CA that client certificates are verified against
 * ({@code clientCaSecret}: null = none asked for; with {@code requireClientCert} false a certificate is asked for and
 * verified when sent, Istio's OPTIONAL_MUTUAL), the RBAC filters (null = none), and a tcp_proxy's weighted
 * clusters ({@code tcpWeighted}: empty for one cluster, {@code tcpCluster}; else one is picked per connection by
 * weight, and {@code tcpCluster} is the first), the subject alt names a client certificate must carry one of
 * ({@code clientSans}: empty = any the CA signed), and the blocks the original destination must be in
 * ({@code destinationRanges}, Envoy's prefix_ranges, on a sidecar's outbound tcp_proxy chains: empty = any), and
 * the JWT filter ({@code jwtAuthn}: Envoy's jwt_authn, with Istio's istio_authn after it; null = none), which runs
 * before the RBAC filters, the access log and tracing its HttpConnectionManager sets ({@code telemetry}: null =
 * the gateway's local settings; on a tcp_proxy chain, its access log, null = none), a tcp_proxy's {@code idle_timeout} ({@code tcpIdleTimeout}: null when not set, read
 * as Envoy's default {@link #TCP_IDLE_TIMEOUT_DEFAULT}; {@link java.time.Duration#ZERO}: none), and Istio's metadata
 * exchange ({@code peerMetadata}: null = none). A chain with several certificates (Istio's credentialNames: an RSA and an
 * ECDSA one) names the others in {@code moreSecrets} (empty = one), and the pins a client certificate must also match
 * one of are {@code clientPins} (Envoy's verify_certificate_spki and verify_certificate_hash; NONE = no pins). Istio's
 * stats filter's metric overrides are {@code stats} (null = every standard metric with every standard label). A
 * tcp_proxy's {@code max_downstream_connection_duration} is {@code tcpMaxConnectionDuration} (null = none). Envoy's
 * stateful session filter is {@code statefulSession} (null = not in the chain, so routes' session configs do nothing).
 * A TLS chain's versions and cipher suites (Envoy's tls_params) are {@code tlsParams} (null = the engine's defaults:
 * TLS 1.2 and 1.3). Envoy's ext_authz HTTP filter (AuthorizationPolicy CUSTOM) is {@code extAuthz} (null = none); it
 * runs after the RBAC filters' shadow rules are evaluated and before their enforcing rules.
 */
public record FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName,
        RouteTable inlineRoutes, List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster,
        boolean requireClientCert, String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted,
        List<String> clientSans, List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn,
        ChainTelemetry telemetry, java.time.Duration tcpIdleTimeout, PeerMetadataConfig peerMetadata,
        List<String> moreSecrets, io.mesh.gateway.tls.CertificatePins clientPins, StatsOverrides stats,
        java.time.Duration tcpMaxConnectionDuration, io.mesh.gateway.route.StatefulSession statefulSession,
        io.mesh.gateway.tls.ServerTlsParams tlsParams, io.mesh.gateway.rbac.ExtAuthz extAuthz) {

    /** A chain without an ext_authz filter. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn, ChainTelemetry telemetry,
            java.time.Duration tcpIdleTimeout, PeerMetadataConfig peerMetadata, List<String> moreSecrets,
            io.mesh.gateway.tls.CertificatePins clientPins, StatsOverrides stats, java.time.Duration tcpMaxConnectionDuration,
            io.mesh.gateway.route.StatefulSession statefulSession, io.mesh.gateway.tls.ServerTlsParams tlsParams) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, jwtAuthn, telemetry,
                tcpIdleTimeout, peerMetadata, moreSecrets, clientPins, stats, tcpMaxConnectionDuration, statefulSession,
                tlsParams, null);
    }

    /** A chain with the engine's default TLS versions and cipher suites. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn, ChainTelemetry telemetry,
            java.time.Duration tcpIdleTimeout, PeerMetadataConfig peerMetadata, List<String> moreSecrets,
            io.mesh.gateway.tls.CertificatePins clientPins, StatsOverrides stats, java.time.Duration tcpMaxConnectionDuration,
            io.mesh.gateway.route.StatefulSession statefulSession) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, jwtAuthn, telemetry,
                tcpIdleTimeout, peerMetadata, moreSecrets, clientPins, stats, tcpMaxConnectionDuration, statefulSession,
                null);
    }

    /** A chain without the stateful session filter. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn, ChainTelemetry telemetry,
            java.time.Duration tcpIdleTimeout, PeerMetadataConfig peerMetadata, List<String> moreSecrets,
            io.mesh.gateway.tls.CertificatePins clientPins, StatsOverrides stats, java.time.Duration tcpMaxConnectionDuration) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, jwtAuthn, telemetry,
                tcpIdleTimeout, peerMetadata, moreSecrets, clientPins, stats, tcpMaxConnectionDuration, null);
    }

    /** A chain whose tcp_proxy (if any) has no maximum connection duration. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn, ChainTelemetry telemetry,
            java.time.Duration tcpIdleTimeout, PeerMetadataConfig peerMetadata, List<String> moreSecrets,
            io.mesh.gateway.tls.CertificatePins clientPins, StatsOverrides stats) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, jwtAuthn, telemetry,
                tcpIdleTimeout, peerMetadata, moreSecrets, clientPins, stats, null);
    }

    /** A chain without Istio's stats filter overrides. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn, ChainTelemetry telemetry,
            java.time.Duration tcpIdleTimeout, PeerMetadataConfig peerMetadata, List<String> moreSecrets,
            io.mesh.gateway.tls.CertificatePins clientPins) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, jwtAuthn, telemetry,
                tcpIdleTimeout, peerMetadata, moreSecrets, clientPins, null, null);
    }

    /** A chain with one certificate, no client-certificate pins and no stats overrides. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn, ChainTelemetry telemetry,
            java.time.Duration tcpIdleTimeout, PeerMetadataConfig peerMetadata) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, jwtAuthn, telemetry,
                tcpIdleTimeout, peerMetadata, List.of(), null, null, null);
    }

    /** Envoy's tcp_proxy {@code idle_timeout} when the filter sets none: 1 hour. */
    public static final java.time.Duration TCP_IDLE_TIMEOUT_DEFAULT = java.time.Duration.ofHours(1);

    /** A chain whose tcp_proxy (if any) has Envoy's default idle timeout, without metadata exchange. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn, ChainTelemetry telemetry) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, jwtAuthn, telemetry,
                null, null);
    }

    /** A chain with the gateway's local telemetry settings. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges, io.mesh.gateway.jwt.JwtAuthn jwtAuthn) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, jwtAuthn, null);
    }

    /** A chain without a JWT filter. */
    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn, int destinationPort, String transportProtocol, String tcpCluster, boolean requireClientCert,
            String clientCaSecret, Rbac rbac, List<WeightedCluster> tcpWeighted, List<String> clientSans,
            List<CidrRange> destinationRanges) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, destinationPort, transportProtocol, tcpCluster,
                requireClientCert, clientCaSecret, rbac, tcpWeighted, clientSans, destinationRanges, null);
    }

    public FilterChainSpec {
        tcpWeighted = tcpWeighted == null ? List.of() : List.copyOf(tcpWeighted);
        clientSans = clientSans == null ? List.of() : List.copyOf(clientSans);
        destinationRanges = destinationRanges == null ? List.of() : List.copyOf(destinationRanges);
        tcpIdleTimeout = tcpIdleTimeout == null ? TCP_IDLE_TIMEOUT_DEFAULT : tcpIdleTimeout;
        moreSecrets = moreSecrets == null ? List.of() : List.copyOf(moreSecrets);
        clientPins = clientPins == null ? io.mesh.gateway.tls.CertificatePins.NONE : clientPins;
    }

    /** The SDS secrets of the chain's certificates, in order (none for plain text). */
    public List<String> secretNames() {
        if (secretName == null) {
            return List.of();
        }
        List<String> all = new java.util.ArrayList<>(1 + moreSecrets.size());
        all.add(secretName);
        all.addAll(moreSecrets);
        return all;
    }

    public FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName, RouteTable inlineRoutes,
            List<String> alpn) {
        this(serverNames, secretName, routeConfigName, inlineRoutes, alpn, 0, "", null, false, null, null, List.of(),
                List.of(), List.of());
    }

    /**
     * How specifically the chain's destination ranges take this IP: the longest matching prefix; 0 for a chain without
     * ranges (any destination); -1 when it has ranges and none holds the IP.
     */
    public int destinationSpecificity(String ip) {
        if (destinationRanges.isEmpty()) {
            return 0;
        }
        int best = -1;
        for (CidrRange r : destinationRanges) {
            if (r.contains(ip)) {
                best = Math.max(best, r.length() + 1);
            }
        }
        return best;
    }

    /** The cluster of a tcp_proxy chain for one connection: its only one, or one picked by weight. */
    public String pickTcpCluster() {
        if (tcpWeighted.isEmpty()) {
            return tcpCluster;
        }
        int total = 0;
        for (WeightedCluster w : tcpWeighted) {
            total += w.weight();
        }
        int r = java.util.concurrent.ThreadLocalRandom.current().nextInt(Math.max(1, total));
        for (WeightedCluster w : tcpWeighted) {
            r -= w.weight();
            if (r < 0) {
                return w.cluster();
            }
        }
        return tcpCluster;
    }

    public boolean tls() {
        return secretName != null;
    }

    public boolean tcp() {
        return tcpCluster != null;
    }

    /** Envoy's filter_chain_match on the original destination port and the detected transport. */
    public boolean matches(int port, boolean tlsDetected) {
        if (destinationPort != 0 && destinationPort != port) {
            return false;
        }
        return transportProtocol.isEmpty() || transportProtocol.equals(tlsDetected ? "tls" : "raw_buffer");
    }
}
