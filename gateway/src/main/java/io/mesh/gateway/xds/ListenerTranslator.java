package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.model.PeerMetadataConfig;
import io.mesh.gateway.rbac.Rbac;
import io.mesh.gateway.route.RouteTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * LDS Listener → {@link ListenerSpec}. Each filter chain must hold one HttpConnectionManager; TLS chains
 * take their certificate from SDS by name. What cannot be applied is rejected with the reason.
 */
public final class ListenerTranslator {

    static final String HCM_TYPE = "type.googleapis.com/" + HttpConnectionManager.getDescriptor().getFullName();
    static final String TLS_TYPE = "type.googleapis.com/" + DownstreamTlsContext.getDescriptor().getFullName();
    private static final Set<String> KNOWN_HTTP_FILTERS = Set.of("envoy.filters.http.router",
            "envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.grpc_stats",
            "envoy.filters.http.grpc_web");
    /** Istio's authn filter, by name: HTTP (after jwt_authn) or network (peer identity, which the proxy reads itself). */
    static final String ISTIO_AUTHN = "istio_authn";
    static final String RBAC_TYPE = "type.googleapis.com/"
            + io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor().getFullName();
    static final String TCP_PROXY_TYPE = "type.googleapis.com/"
            + io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.getDescriptor().getFullName();
    private static final String NETWORK_RBAC_TYPE = "type.googleapis.com/"
            + io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor().getFullName();
    /** Listener filters a sidecar's listeners carry; the proxy does their job itself (see CaptureServer). */
    private static final Set<String> KNOWN_LISTENER_FILTERS = Set.of("envoy.filters.listener.original_dst",
            "envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector");

    private ListenerTranslator() {
    }

    public static ListenerSpec translate(Listener l) throws ConfigRejected {
        String where = "listener " + l.getName();
        if (!l.getAddress().hasSocketAddress()) {
            throw new ConfigRejected(where + ": only socket addresses are supported");
        }
        var sa = l.getAddress().getSocketAddress();
        int port = sa.getPortValue();
        if (port <= 0 || port > 65535) {
            throw new ConfigRejected(where + ": port " + port + " is not a TCP port");
        }
        List<FilterChain> all = new ArrayList<>(l.getFilterChainsList());
        if (l.hasDefaultFilterChain()) {
            all.add(l.getDefaultFilterChain());
        }
        if (all.isEmpty()) {
            throw new ConfigRejected(where + ": no filter chains");
        }
        boolean capture = l.getUseOriginalDst().getValue();
        for (var lf : l.getListenerFiltersList()) {
            if (!KNOWN_LISTENER_FILTERS.contains(lf.getName())) {
                throw new ConfigRejected(where + ": unsupported listener filter " + lf.getName());
            }
            capture |= lf.getName().equals("envoy.filters.listener.original_dst");
        }
        List<FilterChainSpec> chains = new ArrayList<>();
        Boolean tls = null;
        boolean bind = !l.hasBindToPort() || l.getBindToPort().getValue();
        for (int i = 0; i < all.size(); i++) {
            FilterChainSpec c = chain(all.get(i), where + " filter chain " + (all.get(i).getName().isEmpty() ? "#" + i : all.get(i).getName()));
            if (!capture && tls != null && tls != c.tls()) {
                throw new ConfigRejected(where + ": mixes TLS and plaintext filter chains on one port");
            }
            tls = c.tls();
            chains.add(c);
        }
        // A router's TCP listener (a Gateway's TCP server, or TLS passthrough by SNI): tcp_proxy chains only.
        if (!capture && bind && chains.stream().anyMatch(FilterChainSpec::tcp)
                && !chains.stream().allMatch(FilterChainSpec::tcp)) {
            throw new ConfigRejected(where + ": mixes tcp_proxy and HTTP filter chains on one port");
        }
        // Destination ranges tell apart the captured connections handed to an outbound listener that is not bound.
        if ((bind || capture) && chains.stream().anyMatch(c -> !c.destinationRanges().isEmpty())) {
            throw new ConfigRejected(where + ": prefix ranges are served on a sidecar's outbound listeners that are not"
                    + " bound (bind_to_port: false) only");
        }
        // One TLS server per listener: its chains must ask the same of clients (Envoy can differ per chain).
        if (chains.stream().filter(FilterChainSpec::tls).map(c -> c.requireClientCert() + " " + c.clientCaSecret()
                + " " + c.clientSans() + " " + c.clientPins()).distinct().count() > 1) {
            throw new ConfigRejected("listener " + l.getName() + ": its TLS filter chains differ in client"
                    + " certificates (require_client_certificate, the CA, the subject alt names or the pins); servers with and without client"
                    + " certificates (MUTUAL and SIMPLE) need their own port here");
        }
        return new ListenerSpec(l.getName(), sa.getAddress().isEmpty() ? "0.0.0.0" : sa.getAddress(), port,
                List.copyOf(chains), bind, capture);
    }

    private static FilterChainSpec chain(FilterChain fc, String where) throws ConfigRejected {
        String secret = null;
        boolean requireClientCert = false;
        String clientCa = null;
        List<String> clientSans = new ArrayList<>();
        List<String> moreSecrets = new ArrayList<>();
        io.mesh.gateway.tls.CertificatePins pins = null;
        io.mesh.gateway.tls.ServerTlsParams tlsParams = null;
        var match = fc.getFilterChainMatch();
        if (match.getSourcePrefixRangesCount() > 0 || match.getApplicationProtocolsCount() > 0
                || match.getSourcePortsCount() > 0) {
            throw new ConfigRejected(where + ": filter_chain_match on source or application protocols is not supported");
        }
        List<io.mesh.gateway.model.CidrRange> ranges = new ArrayList<>();
        for (var r : match.getPrefixRangesList()) {
            try {
                ranges.add(io.mesh.gateway.model.CidrRange.of(r.getAddressPrefix(), r.getPrefixLen().getValue()));
            } catch (IllegalArgumentException e) {
                throw new ConfigRejected(where + ": prefix range: " + e.getMessage());
            }
        }
        String transport = match.getTransportProtocol();
        if (!transport.isEmpty() && !transport.equals("tls") && !transport.equals("raw_buffer")) {
            throw new ConfigRejected(where + ": unknown transport_protocol " + transport);
        }
        int dstPort = match.hasDestinationPort() ? match.getDestinationPort().getValue() : 0;
        List<String> alpn = List.of("h2", "http/1.1");
        if (fc.hasTransportSocket()) {
            Any any = fc.getTransportSocket().getTypedConfig();
            if (!any.getTypeUrl().equals(TLS_TYPE)) {
                throw new ConfigRejected(where + ": unsupported transport socket " + any.getTypeUrl());
            }
            DownstreamTlsContext ctx = unpack(any, DownstreamTlsContext.class, where);
            var common = ctx.getCommonTlsContext();
            if (common.getTlsCertificateSdsSecretConfigsCount() == 0) {
                throw new ConfigRejected(where + ": TLS needs an SDS certificate (tls_certificate_sds_secret_configs)");
            }
            secret = common.getTlsCertificateSdsSecretConfigs(0).getName();
            for (int i = 1; i < common.getTlsCertificateSdsSecretConfigsCount(); i++) {
                moreSecrets.add(common.getTlsCertificateSdsSecretConfigs(i).getName());
            }
            requireClientCert = ctx.getRequireClientCertificate().getValue();
            if (common.hasValidationContextSdsSecretConfig()) {
                clientCa = common.getValidationContextSdsSecretConfig().getName();
            } else if (common.getCombinedValidationContext().hasValidationContextSdsSecretConfig()) {
                clientCa = common.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName();
                for (var m : common.getCombinedValidationContext().getDefaultValidationContext()
                        .getMatchSubjectAltNamesList()) {
                    if (m.getMatchPatternCase() != io.envoyproxy.envoy.type.matcher.v3.StringMatcher.MatchPatternCase.EXACT) {
                        throw new ConfigRejected(where + ": client subject alt names are matched exactly here, got "
                                + m.getMatchPatternCase());
                    }
                    clientSans.add(m.getExact());
                }
                var defaults = common.getCombinedValidationContext().getDefaultValidationContext();
                try {
                    pins = io.mesh.gateway.tls.CertificatePins.parse(defaults.getVerifyCertificateSpkiList(),
                            defaults.getVerifyCertificateHashList());
                } catch (IllegalArgumentException e) {
                    throw new ConfigRejected(where + ": " + e.getMessage());
                }
            } else if (common.hasValidationContext() || common.hasCombinedValidationContext()) {
                throw new ConfigRejected(where + ": a client-certificate validation context must come from SDS"
                        + " (validation_context_sds_secret_config)");
            }
            if (requireClientCert && clientCa == null) {
                throw new ConfigRejected(where + ": require_client_certificate needs the CA to verify client"
                        + " certificates against (validation_context_sds_secret_config)");
            }
            tlsParams = TlsParamsTranslator.translate(common.getTlsParams(), where);
            if (common.getAlpnProtocolsCount() > 0) {
                alpn = List.copyOf(common.getAlpnProtocolsList());
            }
        }
        HttpConnectionManager hcm = null;
        String tcpCluster = null;
        List<Rbac.Policy> tcpDeny = new ArrayList<>();
        List<Rbac.Policy> tcpAllow = new ArrayList<>();
        boolean tcpRbac = false;
        boolean tcpAllowFilter = false;
        java.time.Duration tcpIdle = null;
        java.time.Duration tcpMaxDuration = null;
        boolean tcpExchange = false;
        List<io.mesh.gateway.route.WeightedCluster> tcpWeighted = new ArrayList<>();
        io.mesh.gateway.model.StatsOverrides tcpStats = null;
        boolean tcpStatsFilter = false;
        io.mesh.gateway.model.ChainTelemetry tcpAccessLog = null;
        for (Filter f : fc.getFiltersList()) {
            if (f.getName().equals(StatsTranslator.FILTER)) {
                if (tcpCluster != null || hcm != null) {
                    throw new ConfigRejected(where + ": " + f.getName() + " after the filter that relays would never run");
                }
                if (tcpStatsFilter) {
                    throw new ConfigRejected(where + ": more than one " + f.getName() + " network filter");
                }
                tcpStatsFilter = true;
                tcpStats = StatsTranslator.translate(f.getTypedConfig(), where);
            } else if (f.getName().equals(TcpPeerExchangeTranslator.FILTER)) {
                if (tcpCluster != null || hcm != null) {
                    throw new ConfigRejected(where + ": " + f.getName() + " after the filter that relays would never run");
                }
                TcpPeerExchangeTranslator.check(f.getTypedConfig(), where + " " + f.getName());
                tcpExchange = true;
            } else if (f.getTypedConfig().getTypeUrl().equals(NETWORK_RBAC_TYPE)) {
                if (tcpCluster != null) {
                    throw new ConfigRejected(where + ": network RBAC after tcp_proxy would never run");
                }
                tcpRbac = true;
                tcpAllowFilter |= RbacTranslator.add(unpack(f.getTypedConfig(),
                        io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class, where), tcpDeny, tcpAllow,
                        where + " " + f.getName());
            } else if (f.getTypedConfig().getTypeUrl().equals(TCP_PROXY_TYPE)) {
                var tcp = unpack(f.getTypedConfig(), io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class, where);
                tcpIdle = idleTimeout(tcp, where);
                tcpMaxDuration = maxConnectionDuration(tcp, where);
                if (tcp.getAccessLogCount() > 0) {
                    // Envoy's tcp_proxy access_log: one line per connection at its end (no tracing on TCP).
                    tcpAccessLog = new io.mesh.gateway.model.ChainTelemetry(
                            AccessLogTranslator.entries(tcp.getAccessLogList(), where + " tcp_proxy"), 0, false, null);
                }
                if (tcp.hasWeightedClusters()) {
                    for (var wc : tcp.getWeightedClusters().getClustersList()) {
                        if (wc.getName().isEmpty()) {
                            throw new ConfigRejected(where + ": tcp_proxy weighted cluster without a name");
                        }
                        tcpWeighted.add(new io.mesh.gateway.route.WeightedCluster(wc.getName(), wc.getWeight(),
                                io.mesh.gateway.route.HeaderMutation.NONE, io.mesh.gateway.route.HeaderMutation.NONE));
                    }
                    if (tcpWeighted.isEmpty() || tcpWeighted.stream().mapToInt(w -> w.weight()).sum() <= 0) {
                        throw new ConfigRejected(where + ": tcp_proxy weighted_clusters needs clusters with weights");
                    }
                    tcpCluster = tcpWeighted.get(0).cluster();
                } else if (tcp.getCluster().isEmpty()) {
                    throw new ConfigRejected(where + ": tcp_proxy needs a cluster or weighted_clusters");
                } else {
                    tcpCluster = tcp.getCluster();
                }
            } else if (f.getName().equals(ISTIO_AUTHN)) {
                continue;   // the mTLS peer's identity is read from the handshake by the proxy itself
            } else if (f.getTypedConfig().getTypeUrl().equals(HCM_TYPE)) {
                if (hcm != null) {
                    throw new ConfigRejected(where + ": more than one HttpConnectionManager");
                }
                hcm = unpack(f.getTypedConfig(), HttpConnectionManager.class, where);
            } else {
                throw new ConfigRejected(where + ": unsupported network filter " + f.getName() + " ("
                        + f.getTypedConfig().getTypeUrl() + ")");
            }
        }
        if (tcpCluster != null) {
            if (hcm != null) {
                throw new ConfigRejected(where + ": both tcp_proxy and HttpConnectionManager");
            }
            return new FilterChainSpec(List.copyOf(match.getServerNamesList()), secret, null, null, alpn, dstPort,
                    transport, tcpCluster, requireClientCert, clientCa,
                    tcpRbac ? new Rbac(List.copyOf(tcpDeny), List.copyOf(tcpAllow), tcpAllowFilter) : null, tcpWeighted,
                    clientSans, ranges, null, tcpAccessLog, tcpIdle, tcpExchange ? PeerMetadataConfig.TCP : null, moreSecrets,
                    pins, tcpStats, tcpMaxDuration, null, tlsParams);
        }
        if (tcpStatsFilter) {
            throw new ConfigRejected(where + ": the " + StatsTranslator.FILTER + " network filter is served on tcp_proxy"
                    + " chains only (HTTP chains take the HTTP filter of that name)");
        }
        if (tcpExchange) {
            throw new ConfigRejected(where + ": the " + TcpPeerExchangeTranslator.FILTER + " network filter is served on"
                    + " tcp_proxy chains only (HTTP chains take the HTTP filter of that name)");
        }
        if (!ranges.isEmpty()) {
            throw new ConfigRejected(where + ": prefix ranges are served on tcp_proxy chains only");
        }
        if (tcpRbac) {
            throw new ConfigRejected(where + ": network RBAC is served on tcp_proxy chains only (HTTP chains take the http RBAC filter)");
        }
        if (hcm == null) {
            throw new ConfigRejected(where + ": no HttpConnectionManager");
        }
        List<Rbac.Policy> deny = new ArrayList<>();
        List<Rbac.Policy> allow = new ArrayList<>();
        boolean rbac = false;
        boolean allowFilter = false;
        io.mesh.gateway.jwt.JwtAuthn jwt = null;
        io.mesh.gateway.model.PeerMetadataConfig mx = null;
        io.mesh.gateway.model.StatsOverrides stats = null;
        boolean statsFilter = false;
        io.mesh.gateway.route.StatefulSession sessions = null;
        List<Rbac.Shadow> shadows = new ArrayList<>();
        // An RBAC filter that is not shadow-only (an empty one included): jwt_authn and ext_authz may not follow it.
        boolean enforcingRbac = false;
        io.mesh.gateway.rbac.ExtAuthz extAuthz = null;
        for (HttpFilter hf : hcm.getHttpFiltersList()) {
            if (hf.getName().equals(StatefulSessionTranslator.FILTER)) {
                if (sessions != null) {
                    throw new ConfigRejected(where + ": more than one " + StatefulSessionTranslator.FILTER + " filter");
                }
                sessions = StatefulSessionTranslator.filter(hf.getTypedConfig(), where + " http filter " + hf.getName());
            } else if (hf.getName().equals(StatsTranslator.FILTER)) {
                if (statsFilter) {
                    throw new ConfigRejected(where + ": more than one " + StatsTranslator.FILTER + " filter");
                }
                statsFilter = true;
                stats = StatsTranslator.translate(hf.getTypedConfig(), where);
            } else if (hf.getName().equals(PeerMetadataTranslator.FILTER)) {
                if (mx != null) {
                    throw new ConfigRejected(where + ": more than one " + PeerMetadataTranslator.FILTER + " filter");
                }
                mx = PeerMetadataTranslator.translate(hf.getTypedConfig(), where + " " + hf.getName());
            } else if (hf.getTypedConfig().getTypeUrl().equals(RBAC_TYPE)) {
                rbac = true;
                var filter = unpack(hf.getTypedConfig(), io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class, where);
                enforcingRbac |= filter.hasRules() || !filter.hasShadowRules();
                allowFilter |= RbacTranslator.add(filter, deny, allow, where + " " + hf.getName());
                Rbac.Shadow shadow = RbacTranslator.shadow(filter, where + " " + hf.getName());
                if (shadow != null) {
                    shadows.add(shadow.withBeforeJwt(jwt == null));
                }
            } else if (hf.getTypedConfig().getTypeUrl().equals(ExtAuthzTranslator.TYPE)) {
                // The proxy runs: shadow rules, ext_authz (before or after jwt_authn, as placed: istiod puts CUSTOM
                // before it), the enforcing RBAC rules (CUSTOM is checked before DENY and ALLOW). Refuse other orders.
                if (extAuthz != null) {
                    throw new ConfigRejected(where + ": more than one ext_authz filter");
                }
                if (enforcingRbac) {
                    throw new ConfigRejected(where + ": " + hf.getName() + " after an RBAC filter with rules: ext_authz runs"
                            + " before the enforcing RBAC filters here (istiod's order, CUSTOM before DENY and ALLOW)");
                }
                extAuthz = ExtAuthzTranslator.translate(unpack(hf.getTypedConfig(),
                        io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.class, where),
                        where + " http filter " + hf.getName()).withBeforeJwt(jwt == null);
            } else if (hf.getTypedConfig().getTypeUrl().equals(JwtAuthnTranslator.TYPE)) {
                // JWT runs before RBAC here (its metadata is what RBAC's request principals read): refuse another order.
                if (enforcingRbac || jwt != null) {
                    throw new ConfigRejected(where + ": " + hf.getName() + " must be the one jwt_authn filter, before the"
                            + " RBAC filters (only shadow-only ones may come first)");
                }
                jwt = JwtAuthnTranslator.translate(unpack(hf.getTypedConfig(),
                        io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.class, where),
                        where + " " + hf.getName());
            } else if (hf.getName().equals(ISTIO_AUTHN)) {
                // Istio's authn filter: its config is empty (a TypedStruct naming io.istio.network.authn.Config);
                // after jwt_authn it records the JWT's attributes for RBAC. Without jwt_authn before it, it has nothing to do.
                if (jwt != null) {
                    if (enforcingRbac) {
                        throw new ConfigRejected(where + ": istio_authn must come before the RBAC filters");
                    }
                    jwt = jwt.withIstioAuthn();
                }
            } else if (!KNOWN_HTTP_FILTERS.contains(hf.getName()) && !hf.getIsOptional()) {
                throw new ConfigRejected(where + ": unsupported http filter " + hf.getName());
            }
        }
        if (jwt == null) {   // "before jwt_authn" means something only when there is one
            shadows.replaceAll(sh -> sh.withBeforeJwt(false));
            extAuthz = extAuthz == null ? null : extAuthz.withBeforeJwt(false);
        }
        String rds = null;
        RouteTable inline = null;
        switch (hcm.getRouteSpecifierCase()) {
            case RDS -> rds = hcm.getRds().getRouteConfigName();
            case ROUTE_CONFIG -> inline = RouteTranslator.translate(hcm.getRouteConfig());
            default -> throw new ConfigRejected(where + ": HttpConnectionManager needs rds or route_config");
        }
        return new FilterChainSpec(List.copyOf(match.getServerNamesList()), secret, rds, inline, alpn, dstPort, transport,
                null, requireClientCert, clientCa,
                rbac ? new Rbac(List.copyOf(deny), List.copyOf(allow), allowFilter, shadows) : null,
                List.of(), clientSans, List.of(), jwt, HcmTelemetryTranslator.translate(hcm, where), null, mx, moreSecrets,
                pins, stats, null, sessions, tlsParams, extAuthz);
    }

    /**
     * tcp_proxy's {@code idle_timeout} as Envoy reads it: not set, its default of 1h (null here); else to the millisecond,
     * 0 (or less than 1ms) disabling it. A negative one is rejected.
     */
    static java.time.Duration idleTimeout(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy tcp,
            String where) throws ConfigRejected {
        if (!tcp.hasIdleTimeout()) {
            return null;
        }
        var d = tcp.getIdleTimeout();
        if (d.getSeconds() < 0 || d.getNanos() < 0) {
            throw new ConfigRejected(where + ": tcp_proxy idle_timeout must not be negative");
        }
        return java.time.Duration.ofMillis(java.time.Duration.ofSeconds(d.getSeconds(), d.getNanos()).toMillis());
    }

    /**
     * tcp_proxy's {@code max_downstream_connection_duration}: not set, none (null); else to the millisecond. Envoy's
     * proto requires at least 1ms, so a shorter one (0 included) is rejected.
     */
    static java.time.Duration maxConnectionDuration(
            io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy tcp, String where) throws ConfigRejected {
        if (!tcp.hasMaxDownstreamConnectionDuration()) {
            return null;
        }
        var d = tcp.getMaxDownstreamConnectionDuration();
        java.time.Duration duration = java.time.Duration.ofSeconds(d.getSeconds(), d.getNanos());
        if (duration.compareTo(java.time.Duration.ofMillis(1)) < 0) {
            throw new ConfigRejected(where + ": tcp_proxy max_downstream_connection_duration must be at least 1ms");
        }
        return java.time.Duration.ofMillis(duration.toMillis());
    }

    static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type, String where) throws ConfigRejected {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigRejected(where + ": cannot decode " + any.getTypeUrl() + ": " + e.getMessage());
        }
    }
}
