package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.mesh.gateway.upstream.ClusterSpec;
import io.mesh.gateway.upstream.Endpoint;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A cluster's {@code transport_socket_matches} as istiod writes them for auto mTLS, and the endpoints'
 * {@code envoy.transport_socket_match} metadata, into the cluster spec: each endpoint's transport (first match wins, none:
 * the cluster's {@code transport_socket}); what cannot be served is NACKed with the reason.
 */
class TransportSocketMatchTranslationTest {

    static final Struct ISTIO = Struct.newBuilder().putFields("tlsMode", Value.newBuilder().setStringValue("istio").build())
            .build();

    static TransportSocket meshTls() {
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(
                UpstreamTlsContext.newBuilder().setSni("outbound_.80_._.web.demo.svc.cluster.local").build())).build();
    }

    static final TransportSocket RAW = TransportSocket.newBuilder().setName("envoy.transport_sockets.raw_buffer")
            .setTypedConfig(Any.pack(RawBuffer.getDefaultInstance())).build();

    /** istiod's auto-mTLS cluster: tlsMode-istio then tlsMode-disabled, no transport_socket of its own. */
    static Cluster.Builder autoMtls() {
        return Cluster.newBuilder().setName("outbound|80||web.demo.svc.cluster.local").setType(Cluster.DiscoveryType.EDS)
                .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-istio")
                        .setMatch(ISTIO).setTransportSocket(meshTls()))
                .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-disabled")
                        .setTransportSocket(RAW));
    }

    static LbEndpoint endpoint(String ip, Struct match) {
        LbEndpoint.Builder e = LbEndpoint.newBuilder().setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint
                .newBuilder().setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip)
                        .setPortValue(8080))));
        if (match != null) {
            e.setMetadata(Metadata.newBuilder().putFilterMetadata("envoy.transport_socket_match", match));
        }
        return e.build();
    }

    @Test
    void eachEndpointGetsTheFirstMatchingTransport() throws Exception {
        ClusterSpec spec = ClusterTranslator.translate(autoMtls().build());
        assertNull(spec.tls(), "no transport_socket of its own");
        assertEquals(List.of("tlsMode-istio", "tlsMode-disabled"), spec.socketMatches().stream().map(m -> m.name()).toList());
        assertEquals("outbound_.80_._.web.demo.svc.cluster.local", spec.transports().get(1).sni());
        assertNull(spec.transports().get(2), "raw_buffer: plaintext");

        List<Endpoint> eps = ClusterTranslator.endpoints(ClusterLoadAssignment.newBuilder().setClusterName("x")
                .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(endpoint("10.0.0.1", ISTIO))
                        .addLbEndpoints(endpoint("10.0.0.2", null))
                        .addLbEndpoints(endpoint("10.0.0.3", Struct.newBuilder().putFields("tlsMode",
                                Value.newBuilder().setStringValue("disabled").build()).build())))
                .build());
        assertEquals(Map.of("tlsMode", Value.newBuilder().setStringValue("istio").build()), eps.get(0).socketMatch());
        assertEquals(1, spec.transportFor(eps.get(0).socketMatch()), "tlsMode-istio");
        assertEquals(2, spec.transportFor(eps.get(1).socketMatch()), "the empty match holds for an endpoint without any");
        assertEquals(2, spec.transportFor(eps.get(2).socketMatch()));
        assertEquals("tlsMode-istio", spec.transportName(1));
    }

    @Test
    void anEndpointMatchingNoneUsesTheClustersTransportSocket() throws Exception {
        // Only the istio match, and the cluster's own socket (TLS here): an endpoint without the metadata takes that.
        ClusterSpec spec = ClusterTranslator.translate(autoMtls().removeTransportSocketMatches(1)
                .setTransportSocket(meshTls().toBuilder().setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder()
                        .setSni("own").build()))).build());
        assertEquals(0, spec.transportFor(Map.of()));
        assertEquals("own", spec.transports().get(spec.transportFor(Map.of())).sni());
        assertEquals(1, spec.transportFor(ISTIO.getFieldsMap()));
        // A match field with another value, or of another type, is no match.
        assertEquals(0, spec.transportFor(Map.of("tlsMode", Value.newBuilder().setBoolValue(true).build())));
        // Without matches or a socket: plaintext for all.
        ClusterSpec plain = ClusterTranslator.translate(autoMtls().clearTransportSocketMatches().build());
        assertEquals(0, plain.transportFor(ISTIO.getFieldsMap()));
        assertNull(plain.transports().get(0));
    }

    @Test
    void theMetadataExchangeFilterReachesEveryTlsTransport() throws Exception {
        ClusterSpec spec = ClusterTranslator.translate(autoMtls().addFilters(TcpPeerExchangeTranslationTest.upstream(TcpPeerExchangeTranslator.FILTER,
                TcpPeerExchangeTranslationTest.config(TcpPeerExchangeTranslationTest.ISTIOD)))
                .build());
        assertTrue(spec.transports().get(1).peerExchange());
    }

    @Test
    void aTransportTheProxyCannotServeIsNacked() {
        Cluster weird = autoMtls().setTransportSocketMatches(1, Cluster.TransportSocketMatch.newBuilder().setName("alts")
                .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.alts")
                        .setTypedConfig(Any.pack(Struct.getDefaultInstance())))).build();
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(weird));
        assertEquals("cluster outbound|80||web.demo.svc.cluster.local: transport_socket_matches[1] (alts): unsupported "
                + "transport socket type.googleapis.com/google.protobuf.Struct", e.getMessage());

        Cluster none = autoMtls().setTransportSocketMatches(0, Cluster.TransportSocketMatch.newBuilder()
                .setName("empty").setMatch(ISTIO)).build();
        e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(none));
        assertEquals("cluster outbound|80||web.demo.svc.cluster.local: transport_socket_matches[0] (empty): no "
                + "transport_socket", e.getMessage());

        // The cluster's own raw_buffer socket is plaintext, accepted.
        assertNotNull(assertDoesNotThrowTranslate(autoMtls().setTransportSocket(RAW).build()));
    }

    private static ClusterSpec assertDoesNotThrowTranslate(Cluster c) {
        try {
            ClusterSpec s = ClusterTranslator.translate(c);
            assertNull(s.tls());
            return s;
        } catch (ConfigRejected e) {
            throw new AssertionError(e);
        }
    }
}
