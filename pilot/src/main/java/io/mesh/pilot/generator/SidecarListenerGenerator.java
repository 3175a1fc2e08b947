package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.config.PolicyConfig;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * LDS for sidecars, in istiod's shape: "virtualOutbound" on 15001 hands captured connections to the per-port
 * listeners "0.0.0.0_PORT" (not bound; HCM with RDS "PORT") for HTTP ports and "VIP_PORT" (not bound; tcp_proxy to
 * the service's cluster, or by SNI for TLS ports) for the other ports of services with an address, "0.0.0.0_PORT"
 * picked by destination CIDR block, by SNI for TLS ports of services without an address, or taking the whole port
 * (the other ports of a ServiceEntry without address, as istiod does), and sends the rest to PassthroughCluster
 * (ALLOW_ANY) or BlackHoleCluster (REGISTRY_ONLY); "virtualInbound" on 15006 holds, per inbound port, a TLS and/or a plaintext
 * filter chain as PeerAuthentication says, told apart by the tls_inspector.
 */
public final class SidecarListenerGenerator {
    public static final int OUTBOUND_CAPTURE_PORT = 15001;
    public static final int INBOUND_CAPTURE_PORT = 15006;

    private SidecarListenerGenerator() {
    }

    /**
     * Outbound non-HTTP ports, as istiod builds them: per service address (VIP) and port, a listener
     * "ADDRESS_PORT" (not bound) that tcp_proxies to "outbound|PORT||HOST", so the connection gets the cluster's auto
     * mTLS. When two services claim the same address:port, the first by hostname wins. TLS and HTTPS ports take the
     * VirtualService's tls routes: a filter chain per match, picked by the ClientHello's SNI ({@code sniHosts}); a port
     * without a matching tls route has one chain to the service (or to its tcp route). A Passthrough service's
     * endpoints stand in for a missing address ({@link PassthroughServices}): a listener "PODIP_PORT" per endpoint;
     * without endpoints a headless Service, or a ServiceEntry with a workload selector, gets none, as in istiod. The
     * rest goes on the port's shared "0.0.0.0_PORT" listener ({@link WildcardPortListeners}): a ServiceEntry's CIDR
     * blocks as chains matching the destination; TLS and HTTPS ports of services without an address as chains picked by
     * SNI (the service's hostname, or its tls routes' {@code sniHosts}); and the other ports of a ServiceEntry without
     * address (STATIC, DNS, or NONE without endpoints or selector) as a chain that takes the whole port (first by
     * hostname). A port that is HTTP for another service keeps its HTTP listener and gets none of these. Kubernetes and
     * local-mode services without an address get nothing: their connections go through virtualOutbound's passthrough.
     */
    static List<Listener> tcpListeners(ProxyInfo proxy, MeshSnapshot snapshot, Set<Integer> httpPorts, String unknown) {
        java.util.Map<String, Listener> byName = new java.util.LinkedHashMap<>();
        WildcardPortListeners wildcard = new WildcardPortListeners(unknown, TcpProxyTimeouts.ofProxy(proxy));
        List<ServiceModel> services = new ArrayList<>(SidecarScope.visibleServices(proxy, snapshot));
        services.sort(java.util.Comparator.comparing(ServiceModel::hostname));
        // A tcp or tls route's destination is looked up in the sidecar's scope (istiod's ServiceForHostname), which
        // also holds its VirtualServices' destinations.
        java.util.Map<String, ServiceModel> scope = new java.util.HashMap<>();
        SidecarScope.services(proxy, snapshot).forEach(s -> scope.put(s.hostname(), s));
        for (ServiceModel s : services) {
            for (ServiceModel.Port port : s.ports()) {
                if (port.http()) {
                    continue;
                }
                boolean tls = tlsProtocol(port.protocol());
                PassthroughServices.Capture capture = PassthroughServices.capture(s, port.number(), snapshot);
                List<String> addresses = capture == PassthroughServices.Capture.ENDPOINTS
                        ? PassthroughServices.listenerAddresses(s, port.number(), snapshot, proxy.ip()) : s.addresses();
                // Without an address: by SNI on a TLS port; a ServiceEntry's other ports (resolution NONE without
                // endpoints or selector, STATIC, DNS) take the whole port. Istio's IST0134 warns of exactly that: "If
                // addresses is not set, all traffic on the port defined in the ServiceEntry is matched, regardless of
                // the host."
                boolean byNameOrPort = addresses.isEmpty() && s.cidrs().isEmpty()
                        && capture != PassthroughServices.Capture.ENDPOINTS
                        && (tls || capture == PassthroughServices.Capture.WHOLE_PORT || s.serviceEntry());
                boolean onWildcard = (!s.cidrs().isEmpty() || byNameOrPort) && !httpPorts.contains(port.number());
                if (addresses.isEmpty() && !onWildcard) {
                    continue;
                }
                List<VirtualService> vss = snapshot.meshL4Routes(s.hostname(), proxy.namespace());
                List<FilterChain> chains = tls ? tlsChains(proxy, vss, port.number(), snapshot, scope::get)
                        : List.of();
                if (chains.isEmpty()) {
                    // The first tcp route for the port of the VirtualServices in order, else the service's own cluster
                    // (istiod's buildSidecarOutboundTCPFilterChainOpts).
                    Filter filter = tcpProxy(ClusterNames.outbound(s.hostname(), port.number(), null),
                            TcpProxyTimeouts.toHost(proxy, snapshot, s.hostname()));
                    for (VirtualService vs : vss) {
                        VirtualService.L4Route route = vs.tcp().stream().filter(r -> r.match().isEmpty()
                                || r.match().stream().anyMatch(m -> forMesh(m, port.number()))).findFirst()
                                .orElse(null);
                        if (route != null) {
                            filter = tcpProxy(proxy, vs, route, port.number(), snapshot, scope::get);
                            break;
                        }
                    }
                    chains = List.of(FilterChain.newBuilder().addFilters(filter).build());
                }
                if (onWildcard) {
                    List<FilterChain> named = chains;
                    if (byNameOrPort && tls && chains.get(0).getFilterChainMatch().getServerNamesCount() == 0) {
                        // No address to tell it by: the SNI is the service's hostname (istiod does the same).
                        named = List.of(chains.get(0).toBuilder().setFilterChainMatch(
                                FilterChainMatch.newBuilder().addServerNames(s.hostname())).build());
                    }
                    wildcard.add(port.number(), named, s.cidrs());
                }
                for (String vip : addresses) {
                    String name = vip + "_" + port.number();
                    Listener.Builder l = Listener.newBuilder().setName(name)
                            .setAddress(SidecarInbound.address(vip, port.number()))
                            .setBindToPort(BoolValue.of(false))
                            .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND)
                            .addAllFilterChains(chains);
                    if (chains.stream().anyMatch(c -> c.getFilterChainMatch().getServerNamesCount() > 0)) {
                        l.addListenerFilters(WildcardPortListeners.TLS_INSPECTOR);
                    }
                    byName.putIfAbsent(name, l.build());
                }
            }
        }
        List<Listener> out = new ArrayList<>(byName.values());
        out.addAll(wildcard.build());
        return out;
    }

    /** Istio's TLS protocols: connections are TLS from the app, so only the ClientHello's SNI says where they go. */
    static boolean tlsProtocol(String protocol) {
        return protocol.equalsIgnoreCase("TLS") || protocol.equalsIgnoreCase("HTTPS");
    }

    /** An L4 match for sidecars on this port: no port or this one, and no gateways or {@code mesh} among them. */
    private static boolean forMesh(VirtualService.L4Match m, int port) {
        return (m.port() == null || m.port() == port) && (m.gateways().isEmpty() || m.gateways().contains("mesh"));
    }

    /**
     * The VirtualServices' tls routes for a sidecar's port, in their order: a filter chain per match, on its
     * {@code sniHosts}, to the route's destinations (a name an earlier match has stays with it, as istiod's
     * buildSidecarOutboundTLSFilterChainOpts keeps the first match of the same SNI names). Empty when none matches.
     */
    private static List<FilterChain> tlsChains(ProxyInfo proxy, List<VirtualService> vss, int port,
            MeshSnapshot snapshot, java.util.function.Function<String, ServiceModel> services) {
        List<FilterChain> out = new ArrayList<>();
        Set<String> claimed = new java.util.HashSet<>();
        for (VirtualService vs : vss) {
            for (VirtualService.L4Route r : vs.tls()) {
                for (VirtualService.L4Match m : r.match()) {
                    if (!forMesh(m, port)) {
                        continue;
                    }
                    List<String> names = m.sniHosts().stream().filter(claimed::add).toList();
                    if (!names.isEmpty()) {
                        out.add(FilterChain.newBuilder().setFilterChainMatch(FilterChainMatch.newBuilder()
                                .addAllServerNames(names)).addFilters(tcpProxy(proxy, vs, r, port, snapshot, services))
                                .build());
                    }
                }
            }
        }
        return out;
    }

    /**
     * A tcp_proxy filter to one cluster, its stats under the cluster's name (as istiod names them), with these
     * timeouts ({@link TcpProxyTimeouts}).
     */
    static Filter tcpProxy(String cluster, TcpProxyTimeouts timeouts) {
        return Filter.newBuilder().setName(TCP_PROXY).setTypedConfig(Any.pack(timeouts.applyTo(TcpProxy.newBuilder()
                .setStatPrefix(cluster).setCluster(cluster)).build())).build();
    }

    static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

    /**
     * A VirtualService tcp or tls route as a tcp_proxy: to its one destination, or over its destinations by weight;
     * {@code services} gives the service of a destination's host whose only port it takes when it names none. Its idle
     * timeouts are those of the first destination's host, as istiod takes them.
     */
    static Filter tcpProxy(ProxyInfo proxy, VirtualService vs, VirtualService.L4Route r, int port, MeshSnapshot snapshot,
            java.util.function.Function<String, ServiceModel> services) {
        TcpProxyTimeouts timeouts = TcpProxyTimeouts.toHost(proxy, snapshot,
                io.mesh.config.Hosts.resolve(r.route().get(0).destination().host(), vs.namespace()));
        if (r.route().size() == 1) {
            return tcpProxy(RouteBuilder.cluster(vs, r.route().get(0).destination(), port, services), timeouts);
        }
        TcpProxy.WeightedCluster.Builder wc = TcpProxy.WeightedCluster.newBuilder();
        for (VirtualService.RouteDestination d : r.route()) {
            if (d.weight() > 0) {
                wc.addClusters(TcpProxy.WeightedCluster.ClusterWeight.newBuilder()
                        .setName(RouteBuilder.cluster(vs, d.destination(), port, services)).setWeight(d.weight()));
            }
        }
        return Filter.newBuilder().setName(TCP_PROXY).setTypedConfig(Any.pack(timeouts.applyTo(TcpProxy.newBuilder()
                .setStatPrefix(vs.namespace() + "/" + vs.name()).setWeightedClusters(wc)).build())).build();
    }

    public static List<Listener> generate(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<Listener> out = new ArrayList<>();
        Set<Integer> httpPorts = new TreeSet<>();
        for (ServiceModel s : SidecarScope.visibleServices(proxy, snapshot)) {
            s.ports().stream().filter(ServiceModel.Port::http).forEach(p -> httpPorts.add(p.number()));
        }
        TelemetryPolicy.Effective telemetry = TelemetryPolicy.resolve(proxy, snapshot, io.mesh.config.Telemetry.Mode.CLIENT);
        for (int port : httpPorts) {
            out.add(Listener.newBuilder().setName("0.0.0.0_" + port)
                    .setAddress(SidecarInbound.address("0.0.0.0", port)).setBindToPort(BoolValue.of(false))
                    .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND)
                    .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(Hcm.NAME)
                            .setTypedConfig(Any.pack(telemetry.apply(Hcm.rds("outbound_0.0.0.0_" + port,
                                    Integer.toString(port), List.of(MetadataExchange.OUTBOUND), true,
                                    snapshot.mesh().persistentSessionFilter()))))))
                    .build());
        }
        // Connections to destinations with no listener: through to where they were going (ALLOW_ANY), or
        // dropped (REGISTRY_ONLY), as istiod's virtualOutbound does.
        String unknown = SidecarScope.outboundTrafficPolicy(proxy, snapshot)
                == PolicyConfig.OutboundTrafficPolicy.REGISTRY_ONLY ? ClusterGenerator.BLACK_HOLE
                        : ClusterGenerator.PASSTHROUGH;
        out.addAll(tcpListeners(proxy, snapshot, httpPorts, unknown));
        out.add(Listener.newBuilder().setName("virtualOutbound")
                .setAddress(SidecarInbound.address("0.0.0.0", OUTBOUND_CAPTURE_PORT))
                .setUseOriginalDst(BoolValue.of(true))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND)
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                .addFilterChains(FilterChain.newBuilder().setName("PassthroughFilterChain")
                        .addFilters(tcpProxy(unknown, TcpProxyTimeouts.ofProxy(proxy))))
                .build());
        out.add(Listener.newBuilder().setName("virtualInbound")
                .setAddress(SidecarInbound.address("0.0.0.0", INBOUND_CAPTURE_PORT))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.INBOUND)
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                // Detects TLS, so filter_chain_match.transport_protocol tells mTLS ("tls") from plaintext.
                .addListenerFilters(WildcardPortListeners.TLS_INSPECTOR)
                .addAllFilterChains(SidecarInbound.filterChains(proxy, snapshot))
                .build());
        // The Telemetry resources' metrics rules: Istio's stats filter on every chain, SERVER on virtualInbound; and the
        // access log on every tcp_proxy, as on the HCMs.
        return TcpAccessLogs.apply(IstioStats.apply(out, proxy, snapshot, false), proxy, snapshot);
    }
}
