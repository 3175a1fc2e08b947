package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.time.Duration;
import java.util.logging.Logger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The TCP access log of a sidecar's two relays, as pilot sends it (the HCMs' access log on every tcp_proxy, here with a
 * CEL filter): an app in a pod network namespace calls a mesh pod's IP and TCP port; the outbound capture relays it over
 * ISTIO_MUTUAL to that address, which an iptables DNAT sends to the same sidecar's inbound capture, which terminates the
 * mTLS and relays to the workload. Each relay writes its line when the connection ends: the outbound one with the
 * address the app dialled as its downstream local address, the inbound one only because its filter
 * ({@code connection.mtls}) sees the mesh mTLS peer. The pod and sidecar are {@link MeshTcpPod}'s. Needs root.
 */
class SidecarTcpAccessLogTest {
    static final AccessLogCapture CAPTURE = new AccessLogCapture();

    static MeshTcpPod mesh;
    static String outbound;
    static String inbound;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        mesh = MeshTcpPod.start("sidecar-tcp-log", l -> logged(l, "xds.cluster_name == 'outbound|"
                + l.getAddress().getSocketAddress().getPortValue() + "||" + MeshTcpPod.DB + "'"), l -> logged(l, "connection.mtls"));
        outbound = mesh.outboundCluster;
        inbound = mesh.inboundCluster;
    }

    /** {@code l} with pilot's access log under this filter on each tcp_proxy (as TcpAccessLogs adds it). */
    static Listener logged(Listener l, String filter) {
        Listener.Builder b = l.toBuilder().clearFilterChains();
        for (FilterChain fc : l.getFilterChainsList()) {
            FilterChain.Builder c = fc.toBuilder().clearFilters();
            for (Filter f : fc.getFiltersList()) {
                if (f.getName().equals("envoy.filters.network.tcp_proxy")) {
                    TcpProxy tcp;
                    try {
                        tcp = f.getTypedConfig().unpack(TcpProxy.class).toBuilder()
                                .addAccessLog(TcpAccessLogTest.log(filter)).build();
                    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                        throw new IllegalStateException(e);
                    }
                    c.addFilters(f.toBuilder().setTypedConfig(Any.pack(tcp)));
                } else {
                    c.addFilters(f);
                }
            }
            b.addFilterChains(c);
        }
        return b.build();
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
        if (mesh != null) {
            mesh.close();
        }
    }

    static String line(String cluster) {
        String of = "\"upstream_cluster\":\"" + cluster + "\"";
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> CAPTURE.lines.stream().anyMatch(l -> l.contains(of)));
        return CAPTURE.lines.stream().filter(l -> l.contains(of)).findFirst().orElseThrow();
    }

    @Test
    void bothRelaysOfAMeshTcpCallWriteTheirLineWithBytesUpstreamAndTheAddressTheAppDialled() throws Exception {
        // 8 bytes of answer size and 100 of request up; a 65-byte digest line and 300 bytes of answer down.
        assertEquals("True 300 True", mesh.call(100, 300));
        String out = line(outbound);
        String dialled = mesh.db0 + ":" + mesh.dbPort;
        assertTrue(out.contains("\"upstream_host\":\"" + dialled + "\""), out);
        assertTrue(out.contains("\"downstream_local_address\":\"" + dialled + "\""), out);
        assertTrue(out.contains("\"bytes_received\":108,"), out);
        assertTrue(out.contains("\"bytes_sent\":365,"), out);
        assertTrue(out.contains("\"response_flags\":\"-\""), out);
        String in = line(inbound);
        assertTrue(in.contains("\"upstream_host\":\"127.0.0.1:" + mesh.dbPort + "\""), in);
        assertTrue(in.contains("\"bytes_received\":108,"), in);
        assertTrue(in.contains("\"bytes_sent\":365,"), in);
    }
}
