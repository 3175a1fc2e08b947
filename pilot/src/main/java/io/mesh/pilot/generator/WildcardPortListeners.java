package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A sidecar's outbound {@code 0.0.0.0_PORT} listeners for non-HTTP ports (not bound: virtualOutbound hands them the
 * captured connections to the port that no {@code ADDRESS_PORT} listener takes), in istiod's shape: filter chains
 * matched by the destination's CIDR block ({@code prefix_ranges}: a ServiceEntry's addresses wider than one IP, a chain
 * per block), by the ClientHello's SNI (TLS ports of services without an address: the hostname, or the tls routes'
 * {@code sniHosts}), or by nothing at all (a ServiceEntry's non-TLS port without address takes the whole port: STATIC,
 * DNS, or NONE without endpoints or workload selector). Envoy picks the most specific destination range first, then the
 * server name. A match an earlier service (by hostname) took stays with it, as istiod merges them. Unless a chain takes
 * every connection, the rest go on as unknown destinations: {@code PassthroughFilterChain} (ALLOW_ANY) or
 * {@code BlackHoleFilterChain} (REGISTRY_ONLY).
 */
final class WildcardPortListeners {
    private final String unknown;
    private final TcpProxyTimeouts unknownTimeouts;
    private final Map<Integer, Listener.Builder> byPort = new TreeMap<>();
    /** Per port, the (CIDR block, server name) pairs a chain already has ("" for none). */
    private final Map<Integer, Set<String>> claimed = new HashMap<>();

    /**
     * {@code unknown}: the cluster for what no chain takes (PassthroughCluster or BlackHoleCluster), its tcp_proxy's
     * timeouts {@code unknownTimeouts}.
     */
    WildcardPortListeners(String unknown, TcpProxyTimeouts unknownTimeouts) {
        this.unknown = unknown;
        this.unknownTimeouts = unknownTimeouts;
    }

    /**
     * Adds a service's chains for the port: each chain once per CIDR block, matching it as well as the chain's own
     * server names; without blocks, the chains as they are (by their server names, or none: the whole port).
     */
    void add(int port, List<FilterChain> chains, List<String> cidrs) {
        Listener.Builder l = byPort.computeIfAbsent(port, n -> Listener.newBuilder()
                .setName("0.0.0.0_" + n).setAddress(SidecarInbound.address("0.0.0.0", n))
                .setBindToPort(BoolValue.of(false))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND));
        Set<String> taken = claimed.computeIfAbsent(port, n -> new HashSet<>());
        List<String> blocks = cidrs.isEmpty() ? List.of("") : cidrs;
        for (String block : blocks) {
            for (FilterChain c : chains) {
                List<String> names = c.getFilterChainMatch().getServerNamesList();
                List<String> free = names.isEmpty()
                        ? (taken.add(block + "|") ? List.of() : null)
                        : names.stream().filter(n -> taken.add(block + "|" + n)).toList();
                if (free == null || (!names.isEmpty() && free.isEmpty())) {
                    continue;
                }
                FilterChainMatch.Builder m = FilterChainMatch.newBuilder().addAllServerNames(free);
                if (!block.isEmpty()) {
                    m.addPrefixRanges(range(block));
                }
                l.addFilterChains(c.toBuilder().setFilterChainMatch(m));
            }
        }
    }

    /** The listeners, each ending with the unknown-destination chain unless one of its chains takes everything. */
    List<Listener> build() {
        List<Listener> out = new ArrayList<>();
        byPort.forEach((port, l) -> {
            if (!claimed.get(port).contains("|")) {
                l.addFilterChains(FilterChain.newBuilder()
                        .setName(unknown.equals(ClusterGenerator.PASSTHROUGH) ? "PassthroughFilterChain" : "BlackHoleFilterChain")
                        .addFilters(SidecarListenerGenerator.tcpProxy(unknown, unknownTimeouts)));
            }
            if (l.getFilterChainsList().stream().anyMatch(c -> c.getFilterChainMatch().getServerNamesCount() > 0)) {
                l.addListenerFilters(TLS_INSPECTOR);
            }
            out.add(l.build());
        });
        return out;
    }

    /** A validated CIDR block ("10.20.0.0/16") as Envoy's CidrRange. */
    static CidrRange range(String cidr) {
        int slash = cidr.indexOf('/');
        return CidrRange.newBuilder().setAddressPrefix(cidr.substring(0, slash))
                .setPrefixLen(UInt32Value.of(Integer.parseInt(cidr.substring(slash + 1)))).build();
    }

    static final ListenerFilter TLS_INSPECTOR = ListenerFilter.newBuilder()
            .setName("envoy.filters.listener.tls_inspector").setTypedConfig(Any.pack(TlsInspector.getDefaultInstance()))
            .build();
}
