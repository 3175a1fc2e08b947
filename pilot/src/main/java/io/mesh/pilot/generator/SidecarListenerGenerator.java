package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
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
 * the service's cluster) for the other ports of services with an address, and sends the rest to PassthroughCluster
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
     * "ADDRESS_PORT" (not bound) whose one filter chain tcp_proxies to "outbound|PORT||HOST", so the connection
     * gets the cluster's auto mTLS. When two services claim the same address:port, the first by hostname wins.
     * Services without an address have none: their connections go through virtualOutbound's passthrough.
     */
    static List<Listener> tcpListeners(ProxyInfo proxy, MeshSnapshot snapshot) {
        java.util.Map<String, Listener> byName = new java.util.LinkedHashMap<>();
        List<ServiceModel> services = new ArrayList<>(SidecarScope.visibleServices(proxy, snapshot));
        services.sort(java.util.Comparator.comparing(ServiceModel::hostname));
        for (ServiceModel s : services) {
            for (ServiceModel.Port port : s.ports()) {
                if (port.http()) {
                    continue;
                }
                // The VirtualService for the host (the one this namespace uses): its first tcp route for the port.
                Filter filter = tcpProxy(ClusterNames.outbound(s.hostname(), port.number(), null));
                VirtualService vs = snapshot.meshRoute(s.hostname(), proxy.namespace());
                VirtualService.L4Route route = vs == null ? null : vs.tcp().stream()
                        .filter(r -> r.match().isEmpty() || r.match().stream().anyMatch(m -> (m.port() == null
                                || m.port() == port.number()) && (m.gateways().isEmpty() || m.gateways().contains("mesh"))))
                        .findFirst().orElse(null);
                if (route != null) {
                    filter = tcpProxy(vs, route, port.number(), snapshot);
                }
                for (String vip : s.addresses()) {
                    String name = vip + "_" + port.number();
                    byName.putIfAbsent(name, Listener.newBuilder().setName(name)
                            .setAddress(SidecarInbound.address(vip, port.number()))
                            .setBindToPort(BoolValue.of(false))
                            .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND)
                            .addFilterChains(FilterChain.newBuilder().addFilters(filter))
                            .build());
                }
            }
        }
        return List.copyOf(byName.values());
    }

    /** A tcp_proxy filter to one cluster, its stats under the cluster's name (as istiod names them). */
    static Filter tcpProxy(String cluster) {
        return Filter.newBuilder().setName(TCP_PROXY).setTypedConfig(Any.pack(TcpProxy.newBuilder()
                .setStatPrefix(cluster).setCluster(cluster).build())).build();
    }

    static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

    /** A VirtualService tcp or tls route as a tcp_proxy: to its one destination, or over its destinations by weight. */
    static Filter tcpProxy(VirtualService vs, VirtualService.L4Route r, int port, MeshSnapshot snapshot) {
        if (r.route().size() == 1) {
            return tcpProxy(RouteBuilder.cluster(vs, r.route().get(0).destination(), port, snapshot));
        }
        TcpProxy.WeightedCluster.Builder wc = TcpProxy.WeightedCluster.newBuilder();
        for (VirtualService.RouteDestination d : r.route()) {
            if (d.weight() > 0) {
                wc.addClusters(TcpProxy.WeightedCluster.ClusterWeight.newBuilder()
                        .setName(RouteBuilder.cluster(vs, d.destination(), port, snapshot)).setWeight(d.weight()));
            }
        }
        return Filter.newBuilder().setName(TCP_PROXY).setTypedConfig(Any.pack(TcpProxy.newBuilder()
                .setStatPrefix(vs.namespace() + "/" + vs.name()).setWeightedClusters(wc).build())).build();
    }

    public static List<Listener> generate(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<Listener> out = new ArrayList<>();
        Set<Integer> httpPorts = new TreeSet<>();
        for (ServiceModel s : SidecarScope.visibleServices(proxy, snapshot)) {
            s.ports().stream().filter(ServiceModel.Port::http).forEach(p -> httpPorts.add(p.number()));
        }
        for (int port : httpPorts) {
            out.add(Listener.newBuilder().setName("0.0.0.0_" + port)
                    .setAddress(SidecarInbound.address("0.0.0.0", port)).setBindToPort(BoolValue.of(false))
                    .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND)
                    .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(Hcm.NAME)
                            .setTypedConfig(Any.pack(Hcm.rds("outbound_0.0.0.0_" + port, Integer.toString(port),
                                    List.of(), true)))))
                    .build());
        }
        out.addAll(tcpListeners(proxy, snapshot));
        // Connections to destinations with no listener: through to where they were going (ALLOW_ANY), or
        // dropped (REGISTRY_ONLY), as istiod's virtualOutbound does.
        String unknown = SidecarScope.outboundTrafficPolicy(proxy, snapshot)
                == PolicyConfig.OutboundTrafficPolicy.REGISTRY_ONLY ? ClusterGenerator.BLACK_HOLE
                        : ClusterGenerator.PASSTHROUGH;
        out.add(Listener.newBuilder().setName("virtualOutbound")
                .setAddress(SidecarInbound.address("0.0.0.0", OUTBOUND_CAPTURE_PORT))
                .setUseOriginalDst(BoolValue.of(true))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND)
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                .addFilterChains(FilterChain.newBuilder().setName("PassthroughFilterChain")
                        .addFilters(tcpProxy(unknown)))
                .build());
        out.add(Listener.newBuilder().setName("virtualInbound")
                .setAddress(SidecarInbound.address("0.0.0.0", INBOUND_CAPTURE_PORT))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.INBOUND)
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                // Detects TLS, so filter_chain_match.transport_protocol tells mTLS ("tls") from plaintext.
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
                        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
                .addAllFilterChains(SidecarInbound.filterChains(proxy, snapshot))
                .build());
        return out;
    }
}
