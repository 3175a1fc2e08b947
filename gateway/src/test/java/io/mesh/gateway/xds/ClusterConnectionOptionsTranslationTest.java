package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.UpstreamConnectionOptions;
import io.envoyproxy.envoy.config.core.v3.TcpKeepalive;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.mesh.gateway.upstream.ClusterSpec;
import org.junit.jupiter.api.Test;

/**
 * A cluster's {@code upstream_connection_options.tcp_keepalive} and {@code common_http_protocol_options
 * .max_connection_duration}, as pilot writes a DestinationRule's {@code tcpKeepalive} and {@code maxConnectionDuration},
 * into the cluster spec; a change of either is a change of transport (new pools).
 */
class ClusterConnectionOptionsTranslationTest {

    static Cluster.Builder cluster() {
        return Cluster.newBuilder().setName("outbound|80||web.demo.svc.cluster.local").setType(Cluster.DiscoveryType.EDS);
    }

    static Cluster withDuration(Cluster.Builder c, com.google.protobuf.Duration d) {
        return c.putTypedExtensionProtocolOptions(ClusterTranslator.HTTP_OPTIONS, Any.pack(HttpProtocolOptions.newBuilder()
                .setCommonHttpProtocolOptions(io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.newBuilder()
                        .setMaxConnectionDuration(d)).build())).build();
    }

    @Test
    void tcpKeepaliveIsReadWithUnsetFieldsLeftToTheOs() throws Exception {
        ClusterSpec full = ClusterTranslator.translate(cluster().setUpstreamConnectionOptions(UpstreamConnectionOptions
                .newBuilder().setTcpKeepalive(TcpKeepalive.newBuilder().setKeepaliveProbes(UInt32Value.of(3))
                        .setKeepaliveTime(UInt32Value.of(75)).setKeepaliveInterval(UInt32Value.of(10)))).build());
        assertEquals(new io.mesh.gateway.upstream.TcpKeepalive(3, 75, 10), full.keepalive());
        ClusterSpec empty = ClusterTranslator.translate(cluster().setUpstreamConnectionOptions(UpstreamConnectionOptions
                .newBuilder().setTcpKeepalive(TcpKeepalive.getDefaultInstance())).build());
        assertEquals(io.mesh.gateway.upstream.TcpKeepalive.OS_DEFAULTS, empty.keepalive());
        assertNull(ClusterTranslator.translate(cluster().build()).keepalive());
    }

    @Test
    void maxConnectionDurationIsReadInMillisecondsAndANegativeOneIsRefused() throws Exception {
        assertEquals(1500, ClusterTranslator.translate(withDuration(cluster(), Durations.fromMillis(1500)))
                .maxConnectionDurationMs());
        assertEquals(0, ClusterTranslator.translate(cluster().build()).maxConnectionDurationMs());
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(
                withDuration(cluster(), com.google.protobuf.Duration.newBuilder().setSeconds(-1).build())));
        assertTrue(e.getMessage().contains("max_connection_duration must not be negative"), e.getMessage());
    }

    @Test
    void aChangeOfKeepaliveOrDurationIsANewTransport() throws Exception {
        ClusterSpec plain = ClusterTranslator.translate(cluster().build());
        ClusterSpec keepalive = ClusterTranslator.translate(cluster().setUpstreamConnectionOptions(UpstreamConnectionOptions
                .newBuilder().setTcpKeepalive(TcpKeepalive.getDefaultInstance())).build());
        ClusterSpec aged = ClusterTranslator.translate(withDuration(cluster(), Durations.fromSeconds(60)));
        assertTrue(plain.sameTransport(ClusterTranslator.translate(cluster().build())));
        assertFalse(plain.sameTransport(keepalive));
        assertFalse(plain.sameTransport(aged));
        assertEquals(keepalive.keepalive(), keepalive.withTls(null).keepalive(), "withTls keeps them");
        assertEquals(60_000, aged.withTls(null).maxConnectionDurationMs());
    }
}
