package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A half-close through a sidecar's two TCP relays over mesh mTLS, in the form pilot sends them: an app in a pod
 * network namespace (a Python socket client: it sends its request, shuts its output with {@code shutdown(SHUT_WR)}
 * and reads the answer) calls a mesh pod's IP and TCP port; the sidecar's outbound capture relays it over
 * ISTIO_MUTUAL (auto mTLS, ORIGINAL_DST) to that address, where an iptables DNAT sends it to the same sidecar's
 * inbound capture (as the server pod's istio-iptables would), whose TLS chain for the port terminates the mTLS and
 * relays to the workload on 127.0.0.1 (a server that answers only at the end of its input). Needs root.
 */
class SidecarTcpHalfCloseTest {
    static final String CLIENT_ID = MeshTcpPod.CLIENT_ID;

    static MeshTcpPod mesh;

    /** The app: a Python client that sends the answer size and {@code request} pattern bytes, then SHUT_WR, and checks the answer. */
    static final String CLIENT = String.join("\n",
            "import socket, sys, hashlib",
            "host, port, req, ans = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])",
            "def pattern(n):",
            "    unit = bytes(i % 251 for i in range(251))",
            "    return (unit * (n // 251 + 1))[:n]",
            "body = pattern(req)",
            "s = socket.create_connection((host, port), timeout=30)",
            "s.sendall(ans.to_bytes(8, 'big') + body)",
            "s.shutdown(socket.SHUT_WR)",
            "got = bytearray()",
            "while True:",
            "    b = s.recv(65536)",
            "    if not b:",
            "        break",
            "    got += b",
            "line, _, rest = bytes(got).partition(b'\\n')",
            "print(line.decode() == hashlib.sha256(body).hexdigest(), len(rest), rest == pattern(ans))");

    @BeforeAll
    static void start() throws Exception {
        mesh = MeshTcpPod.start("sidecar-half-close", l -> l, l -> l);
    }

    /** pilot's virtualInbound under STRICT: the port's one chain takes mesh mTLS and is a tcp_proxy to the workload. */
    static Listener virtualInbound(int port, String cluster) {
        return Listener.newBuilder().setName("virtualInbound").setAddress(Xds.address("0.0.0.0", 15006))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
                        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
                .addFilterChains(FilterChain.newBuilder().setName(cluster + "tls")
                        .setFilterChainMatch(FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port))
                                .setTransportProtocol("tls"))
                        .setTransportSocket(GatewayTlsServersTest.socket(GatewayTlsServersTest.meshTls(List.of())))
                        .addFilters(TcpHalfCloseOverMeshTlsTest.tcpProxy(cluster)))
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (mesh != null) {
            mesh.close();
        }
    }

    String call(long request, long answer) throws Exception {
        return mesh.call(request, answer);
    }

    @Test
    void anAppsHalfCloseCrossesBothSidecarRelaysOverMeshMtlsAndTheAnswerComesBack() throws Exception {
        assertEquals("True 300 True", call(100, 300));
        // Over mTLS, as the caller's identity: Istio's TCP metrics on the inbound side name the peer.
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
            var c = mesh.gw.registry.find("istio_tcp_connections_opened").tag("source_principal", CLIENT_ID).counter();
            return c != null && c.count() >= 1;
        });
    }

    @Test
    void severalMegabytesEachWayCrossBothSidecarRelaysAroundTheHalfClose() throws Exception {
        assertEquals("True " + (8 << 20) + " True", call(2 << 20, 8 << 20));
    }
}
