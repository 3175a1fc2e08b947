package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.mesh.gateway.model.PeerMetadataConfig;
import io.mesh.gateway.upstream.ClusterSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * istiod's TCP metadata exchange config as the gateway reads it: the {@code istio.metadata_exchange} network filter on
 * a tcp_proxy chain (TCPListenerMx) and upstream filter on a cluster (TCPClusterMx), each a TypedStruct of
 * {@code envoy.tcp.metadataexchange.config.MetadataExchange}; the cluster's ALPN protocols are kept for its tcp_proxy
 * connections. What cannot be served is NACKed with the reason.
 */
class TcpPeerExchangeTranslationTest {

    static Any config(Struct fields) {
        return Any.pack(TypedStruct.newBuilder().setTypeUrl("type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange")
                .setValue(fields).build());
    }

    static final Struct ISTIOD = Struct.newBuilder()
            .putFields("protocol", Value.newBuilder().setStringValue("istio-peer-exchange").build())
            .putFields("enable_discovery", Value.newBuilder().setBoolValue(true).build()).build();

    static Filter mx(Any config) {
        return Filter.newBuilder().setName("istio.metadata_exchange").setTypedConfig(config).build();
    }

    static final Filter TCP_PROXY = Filter.newBuilder().setName("envoy.filters.network.tcp_proxy")
            .setTypedConfig(Any.pack(TcpProxy.newBuilder().setStatPrefix("db").setCluster("db").build())).build();

    static Listener listener(Filter... filters) {
        return Listener.newBuilder().setName("tcp").setAddress(Address.newBuilder().setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(9000)))
                .addFilterChains(FilterChain.newBuilder().addAllFilters(List.of(filters))).build();
    }

    static Cluster cluster(List<String> alpn, io.envoyproxy.envoy.config.cluster.v3.Filter... filters) {
        return Cluster.newBuilder().setName("db").setType(Cluster.DiscoveryType.STATIC)
                .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                        .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setCommonTlsContext(
                                CommonTlsContext.newBuilder().addAllAlpnProtocols(alpn)).build())))
                .addAllFilters(List.of(filters)).build();
    }

    static io.envoyproxy.envoy.config.cluster.v3.Filter upstream(String name, Any config) {
        return io.envoyproxy.envoy.config.cluster.v3.Filter.newBuilder().setName(name).setTypedConfig(config).build();
    }

    @Test
    void istiodsInboundTcpChainExchangesWithItsDownstream() throws Exception {
        assertEquals(PeerMetadataConfig.TCP, ListenerTranslator.translate(listener(mx(config(ISTIOD)), TCP_PROXY))
                .chains().get(0).peerMetadata());
        assertNull(ListenerTranslator.translate(listener(TCP_PROXY)).chains().get(0).peerMetadata());
    }

    @Test
    void istiodsClusterFilterTurnsTheExchangeOnAndItsAlpnIsKept() throws Exception {
        ClusterSpec c = ClusterTranslator.translate(cluster(List.of("istio-peer-exchange", "istio"),
                upstream("istio.metadata_exchange", config(ISTIOD))));
        assertTrue(c.tls().peerExchange());
        assertEquals(List.of("istio-peer-exchange", "istio"), c.tls().relayAlpn());
        ClusterSpec without = ClusterTranslator.translate(cluster(List.of("istio-peer-exchange", "istio")));
        assertFalse(without.tls().peerExchange());
        assertEquals(List.of("istio"), without.tls().relayAlpn(), "never offered without the filter");
    }

    @Test
    void whatCannotBeServedIsRefusedWithTheReason() {
        refused("protocol must be istio-peer-exchange, got other", listener(mx(config(ISTIOD.toBuilder()
                .putFields("protocol", Value.newBuilder().setStringValue("other").build()).build())), TCP_PROXY));
        refused("protocol must be istio-peer-exchange, got none", listener(mx(config(Struct.getDefaultInstance())), TCP_PROXY));
        refused("unknown field max_peer_cache_size", listener(mx(config(ISTIOD.toBuilder()
                .putFields("max_peer_cache_size", Value.newBuilder().setNumberValue(3).build()).build())), TCP_PROXY));
        refused("needs a TypedStruct of type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
                listener(mx(Any.pack(Struct.getDefaultInstance())), TCP_PROXY));
        refused("after the filter that relays would never run", listener(TCP_PROXY, mx(config(ISTIOD))));
        ConfigRejected unknown = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(
                cluster(List.of(), upstream("envoy.filters.upstream_network.mystery", Any.pack(Struct.getDefaultInstance())))));
        assertTrue(unknown.getMessage().contains("unsupported upstream filter envoy.filters.upstream_network.mystery"),
                unknown.getMessage());
    }

    static void refused(String reason, Listener l) {
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(l));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
