package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.testing.FreePorts;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * ({@code connection.mtls}) sees the mesh mTLS peer. The same shape as {@link SidecarTcpHalfCloseTest}. Needs root.
 */
class SidecarTcpAccessLogTest {
    static final String CLIENT_ID = "spiffe://cluster.local/ns/demo/sa/client";
    static final String DB = "db.demo.svc.cluster.local";
    static final AccessLogCapture CAPTURE = new AccessLogCapture();

    static Path dir;
    static TestCitadel ca;
    static ControlPlane pilot;
    static TestGateway gw;
    static PodNamespace pod;
    static ServerSocket workload;
    static String db0;
    static List<String> dnat;
    static final int DB_TCP = FreePorts.next();
    static final String OUTBOUND = "outbound|" + DB_TCP + "||" + DB;
    static final String INBOUND = "inbound|" + DB_TCP + "||";

    @BeforeAll
    static void start() throws Exception {
        PodNamespace.requireRoot();
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        dir = Files.createTempDirectory("sidecar-tcp-log");
        ca = new TestCitadel(Map.of("client-token", CLIENT_ID));
        Path root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "client-token\n");
        int outboundCapture = FreePorts.next();
        int inboundCapture = FreePorts.next();
        pod = PodNamespace.create(outboundCapture);
        db0 = pod.destinations.get(0);
        dnat = List.of("OUTPUT", "-d", db0 + "/32", "-p", "tcp", "--dport", Integer.toString(DB_TCP), "-m", "comment",
                "--comment", pod.name, "-j", "DNAT", "--to-destination", db0 + ":" + inboundCapture);
        iptables("-A");
        workload = new ServerSocket(DB_TCP, 50, InetAddress.getLoopbackAddress());
        TcpServers.serve(workload, "workload", 30_000, TcpHalfCloseOverMeshTlsTest::digest);

        Cluster mesh = IstioMutualTest.istioMutual(OUTBOUND, CLIENT_ID).toBuilder().setType(Cluster.DiscoveryType.ORIGINAL_DST)
                .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED).clearEdsClusterConfig().build();
        pilot = new ControlPlane();
        pilot.set(List.of(mesh, Xds.edsCluster(INBOUND), SidecarHeadlessServiceTest.blackHole()),
                List.of(Xds.endpoints(INBOUND, DB_TCP)),
                List.of(SidecarHeadlessServiceTest.virtualOutbound(),
                        logged(SidecarHeadlessServiceTest.podListener(db0, DB_TCP, DB), "xds.cluster_name == '" + OUTBOUND + "'"),
                        logged(SidecarTcpHalfCloseTest.virtualInbound(DB_TCP, INBOUND), "connection.mtls")),
                List.of(), List.of());
        gw = TestGateway.ready(pilot, Map.of("mesh.gateway.mode", "sidecar",
                "mesh.gateway.listeners.port-map.\"15001\"", Integer.toString(outboundCapture),
                "mesh.gateway.listeners.port-map.\"15006\"", Integer.toString(inboundCapture),
                "mesh.gateway.ca.address", ca.address(), "mesh.gateway.ca.token-file", token.toString(),
                "mesh.gateway.ca.root-cert-file", root.toString(), "mesh.gateway.listeners.event-loops", "1"));
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> gw.gateway.identity().orElseThrow().isReady());
        assertTrue(pilot.nacks().isEmpty(), pilot.nacks().toString());
    }

    /** {@code l} with pilot's access log under this filter on each tcp_proxy (as TcpAccessLogs adds it). */
    static Listener logged(Listener l, String filter) throws Exception {
        Listener.Builder b = l.toBuilder().clearFilterChains();
        for (FilterChain fc : l.getFilterChainsList()) {
            FilterChain.Builder c = fc.toBuilder().clearFilters();
            for (Filter f : fc.getFiltersList()) {
                if (f.getName().equals("envoy.filters.network.tcp_proxy")) {
                    TcpProxy tcp = f.getTypedConfig().unpack(TcpProxy.class).toBuilder()
                            .addAccessLog(TcpAccessLogTest.log(filter)).build();
                    c.addFilters(f.toBuilder().setTypedConfig(Any.pack(tcp)));
                } else {
                    c.addFilters(f);
                }
            }
            b.addFilterChains(c);
        }
        return b.build();
    }

    static void iptables(String action) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("iptables", "-t", "nat", action));
        cmd.addAll(dnat);
        Run.run(cmd, null);
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
        if (gw != null) {
            gw.close();
        }
        if (pilot != null) {
            pilot.close();
        }
        if (ca != null) {
            ca.close();
        }
        if (workload != null) {
            workload.close();
        }
        if (dnat != null) {
            iptables("-D");
        }
        if (pod != null) {
            pod.close();
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
        assertEquals("True 300 True", pod.exec(List.of("timeout", "60", "python3", "-c", SidecarTcpHalfCloseTest.CLIENT,
                db0, Integer.toString(DB_TCP), "100", "300")).strip());
        String out = line(OUTBOUND);
        assertTrue(out.contains("\"upstream_host\":\"" + db0 + ":" + DB_TCP + "\""), out);
        assertTrue(out.contains("\"downstream_local_address\":\"" + db0 + ":" + DB_TCP + "\""), out);
        assertTrue(out.contains("\"bytes_received\":108,"), out);
        assertTrue(out.contains("\"bytes_sent\":365,"), out);
        assertTrue(out.contains("\"response_flags\":\"-\""), out);
        String in = line(INBOUND);
        assertTrue(in.contains("\"upstream_host\":\"127.0.0.1:" + DB_TCP + "\""), in);
        assertTrue(in.contains("\"bytes_received\":108,"), in);
        assertTrue(in.contains("\"bytes_sent\":365,"), in);
    }
}
