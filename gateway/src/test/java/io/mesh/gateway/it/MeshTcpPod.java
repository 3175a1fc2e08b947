package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.awaitility.Awaitility;

/**
 * A pod network namespace whose app calls a mesh TCP service through one sidecar, both ways: the outbound capture
 * relays the app's connection to the service's pod IP and port over ISTIO_MUTUAL (an ORIGINAL_DST cluster), an iptables
 * DNAT (the server pod's istio-iptables) sends it to the same sidecar's inbound capture, which terminates the mesh mTLS
 * and relays to the workload on 127.0.0.1 (a digest server, {@link TcpHalfCloseOverMeshTlsTest#digest}). The sidecar has
 * its own certificate from a test citadel. Needs root. Shared by the sidecar TCP tests, which differ in the listeners.
 */
final class MeshTcpPod implements AutoCloseable {
    static final String CLIENT_ID = "spiffe://cluster.local/ns/demo/sa/client";
    static final String DB = "db.demo.svc.cluster.local";

    final int dbPort = FreePorts.next();
    final String outboundCluster = "outbound|" + dbPort + "||" + DB;
    final String inboundCluster = "inbound|" + dbPort + "||";
    PodNamespace pod;
    String db0;
    ControlPlane pilot;
    TestGateway gw;
    private TestCitadel ca;
    private ServerSocket workload;
    private List<String> dnat;

    /**
     * Starts it; {@code outbound} and {@code inbound} may change the pod listener and virtualInbound pilot sends (e.g.
     * an access log on their tcp_proxy).
     */
    static MeshTcpPod start(String name, UnaryOperator<Listener> outbound, UnaryOperator<Listener> inbound) throws Exception {
        PodNamespace.requireRoot();
        MeshTcpPod p = new MeshTcpPod();
        try {
            p.open(name, outbound, inbound);
        } catch (Exception | AssertionError e) {
            p.close();
            throw e;
        }
        return p;
    }

    private void open(String name, UnaryOperator<Listener> outbound, UnaryOperator<Listener> inbound) throws Exception {
        Path dir = Files.createTempDirectory(name);
        ca = new TestCitadel(Map.of("client-token", CLIENT_ID));
        Path root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "client-token\n");
        int outboundCapture = FreePorts.next();
        int inboundCapture = FreePorts.next();
        pod = PodNamespace.create(outboundCapture);
        db0 = pod.destinations.get(0);
        // The server pod's istio-iptables: connections to its IP and port go to the (same) sidecar's inbound capture.
        dnat = List.of("OUTPUT", "-d", db0 + "/32", "-p", "tcp", "--dport", Integer.toString(dbPort), "-m", "comment",
                "--comment", pod.name, "-j", "DNAT", "--to-destination", db0 + ":" + inboundCapture);
        iptables("-A");
        workload = new ServerSocket(dbPort, 50, InetAddress.getLoopbackAddress());
        TcpServers.serve(workload, "workload", 30_000, TcpHalfCloseOverMeshTlsTest::digest);

        Cluster mesh = IstioMutualTest.istioMutual(outboundCluster, CLIENT_ID).toBuilder()
                .setType(Cluster.DiscoveryType.ORIGINAL_DST).setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
                .clearEdsClusterConfig().build();
        pilot = new ControlPlane();
        pilot.set(List.of(mesh, Xds.edsCluster(inboundCluster), SidecarHeadlessServiceTest.blackHole()),
                List.of(Xds.endpoints(inboundCluster, dbPort)),
                List.of(SidecarHeadlessServiceTest.virtualOutbound(),
                        outbound.apply(SidecarHeadlessServiceTest.podListener(db0, dbPort, DB)),
                        inbound.apply(SidecarTcpHalfCloseTest.virtualInbound(dbPort, inboundCluster))),
                List.of(), List.of());
        gw = TestGateway.ready(pilot, Map.of("mesh.gateway.mode", "sidecar",
                "mesh.gateway.listeners.port-map.\"15001\"", Integer.toString(outboundCapture),
                "mesh.gateway.listeners.port-map.\"15006\"", Integer.toString(inboundCapture),
                "mesh.gateway.ca.address", ca.address(), "mesh.gateway.ca.token-file", token.toString(),
                "mesh.gateway.ca.root-cert-file", root.toString(), "mesh.gateway.listeners.event-loops", "1"));
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> gw.gateway.identity().orElseThrow().isReady());
        assertTrue(pilot.nacks().isEmpty(), pilot.nacks().toString());
    }

    /** The app's call, as {@link SidecarTcpHalfCloseTest#CLIENT} prints its result. */
    String call(long request, long answer) throws Exception {
        return pod.exec(List.of("timeout", "60", "python3", "-c", SidecarTcpHalfCloseTest.CLIENT, db0,
                Integer.toString(dbPort), Long.toString(request), Long.toString(answer))).strip();
    }

    private void iptables(String action) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("iptables", "-t", "nat", action));
        cmd.addAll(dnat);
        Run.run(cmd, null);
    }

    @Override
    public void close() throws Exception {
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
}
