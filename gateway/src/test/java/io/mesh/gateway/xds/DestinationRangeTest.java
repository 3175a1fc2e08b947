package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A sidecar's outbound {@code 0.0.0.0_PORT} listener with chains matched by the destination's CIDR block (Envoy's
 * filter_chain_match prefix_ranges), as istiod and our pilot write them for a ServiceEntry's CIDR addresses: the most
 * specific block holding the original destination picks the chain, and a destination in none goes to the chains
 * without ranges (the unknown-destination chain).
 */
class DestinationRangeTest {

    static FilterChain chain(String cluster, String... cidrs) {
        FilterChainMatch.Builder m = FilterChainMatch.newBuilder();
        for (String c : cidrs) {
            int slash = c.indexOf('/');
            m.addPrefixRanges(CidrRange.newBuilder().setAddressPrefix(c.substring(0, slash))
                    .setPrefixLen(UInt32Value.of(Integer.parseInt(c.substring(slash + 1)))));
        }
        return FilterChain.newBuilder().setFilterChainMatch(m).addFilters(Filter.newBuilder()
                .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(TcpProxy.newBuilder()
                        .setStatPrefix(cluster).setCluster(cluster).build()))).build();
    }

    static Listener port(int port, boolean bind, FilterChain... chains) {
        return Listener.newBuilder().setName("0.0.0.0_" + port).setAddress(Address.newBuilder().setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(port)))
                .setBindToPort(BoolValue.of(bind)).addAllFilterChains(List.of(chains)).build();
    }

    static String to(ListenerSpec l, String ip) {
        List<FilterChainSpec> chains = l.chainsTo(ip);
        return chains.isEmpty() ? "none" : chains.get(0).tcpCluster();
    }

    @Test
    void theMostSpecificBlockHoldingTheDestinationPicksTheChain() throws Exception {
        ListenerSpec l = ListenerTranslator.translate(port(5432, false,
                chain("outbound|5432||wide.example", "10.0.0.0/8"),
                chain("outbound|5432||pg.example", "10.20.0.0/16", "192.0.2.0/25"),
                chain("outbound|5432||v6.example", "2001:db8::/32"),
                chain("BlackHoleCluster")));
        assertEquals("outbound|5432||pg.example", to(l, "10.20.3.4"));
        assertEquals("outbound|5432||pg.example", to(l, "192.0.2.127"));
        assertEquals("outbound|5432||wide.example", to(l, "10.21.0.1"));
        assertEquals("outbound|5432||v6.example", to(l, "2001:db8::7"));
        // In no block (a /25's neighbour, another family): the chain without ranges.
        assertEquals("BlackHoleCluster", to(l, "192.0.2.128"));
        assertEquals("BlackHoleCluster", to(l, "203.0.113.9"));
        assertEquals("BlackHoleCluster", to(l, "2001:db9::1"));
    }

    @Test
    void withoutAChainWithoutRangesADestinationInNoBlockHasNoChain() throws Exception {
        ListenerSpec l = ListenerTranslator.translate(port(5432, false, chain("outbound|5432||pg.example", "10.20.0.0/16")));
        assertEquals("outbound|5432||pg.example", to(l, "10.20.0.1"));
        assertEquals("none", to(l, "10.21.0.1"));
    }

    @Test
    void rangesAreRefusedWhereTheyWouldBeIgnoredAndMustBeValid() {
        // A bound listener (a router's TCP server) matches its own address, not a captured destination.
        ConfigRejected bound = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(
                port(5432, true, chain("outbound|5432||pg.example", "10.20.0.0/16"))));
        assertTrue(bound.getMessage().contains("not bound"), bound.getMessage());
        ConfigRejected length = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(
                port(5432, false, chain("outbound|5432||pg.example", "10.20.0.0/33"))));
        assertTrue(length.getMessage().contains("prefix length 33"), length.getMessage());
        FilterChain http = FilterChain.newBuilder().setFilterChainMatch(chain("x", "10.0.0.0/8").getFilterChainMatch())
                .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(HttpConnectionManager.newBuilder().setStatPrefix("x")
                                .setRds(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds
                                        .newBuilder().setRouteConfigName("80")).build()))).build();
        ConfigRejected onHttp = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(port(80, false, http)));
        assertTrue(onHttp.getMessage().contains("tcp_proxy chains only"), onHttp.getMessage());
        assertFalse(io.mesh.gateway.model.CidrRange.of("10.20.0.0", 16).contains("db.example"), "names are never in a block");
    }
}
