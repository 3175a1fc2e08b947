package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.testing.FreePorts;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A TCP half-close across relays with mesh mTLS on a side, as Envoy's tcp_proxy passes it on: a plain TCP listener
 * (relay A) whose cluster is ISTIO_MUTUAL to a TLS server of the same gateway that terminates mesh mTLS (relay B, an
 * east-west gateway's form, the same {@code TcpRelay} as a sidecar's inbound mTLS chain) and relays to a plaintext
 * server. A client's FIN becomes a close_notify between the relays and a FIN again at the server; the answer still
 * comes back the other way. The servers are plain Java sockets; a TLS client is the JDK's {@code SSLSocket} with a
 * workload certificate from the test's citadel, whose {@code shutdownOutput} sends a TLS 1.3 close_notify.
 * The gateway runs on the default TLS engine (BoringSSL): the relays' TLS is the JDK's all the same (netty-tcnative's
 * engine could not go on sending after a close_notify). A TLS 1.2 peer's close_notify still closes both directions.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TcpHalfCloseOverMeshTlsTest {
    static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-eastwestgateway";
    static final String CLIENT_ID = "spiffe://cluster.local/ns/demo/sa/client";
    /** The SNI of {@link IstioMutualTest#istioMutual}'s clusters: no host name to the JDK (the underscores). */
    static final String MESH_SNI = "outbound_.80_._.backend.demo.svc.cluster.local";

    Path dir;
    TestCitadel ca;
    ControlPlane pilot;
    TestGateway gw;
    final List<ServerSocket> servers = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** The TCP sockets under the TLS clients. */
    final List<Socket> clientSockets = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Client → relay A → mTLS → relay B → the digest server. */
    int twoRelays;
    /** mTLS client → relay B → the digest server. */
    int mtls;
    /** Client → relay A → mTLS → relay B → a server that greets, shuts its output first, then reads to the end. */
    int serverFirst;
    /** Client → relay A → mTLS → relay B → a server that holds the connection until it ends. */
    int holding;
    /** mTLS client → relay B → the holding server. */
    int mtlsHolding;
    /** What the server-first server read, per connection, once its client ended. */
    final BlockingQueue<String> readByServerFirst = new LinkedBlockingQueue<>();
    /** Each holding server connection's end: "eof" or the exception that ended it. */
    final BlockingQueue<String> holdingEnds = new LinkedBlockingQueue<>();

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("tcp-half-close");
        ca = new TestCitadel(Map.of("gateway-token", GATEWAY_ID));
        Path root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "gateway-token\n");
        int digest = serve("digest", TcpHalfCloseOverMeshTlsTest::digest);
        int greeter = serve("greeter", this::greetThenRead);
        int hold = serve("holding", this::hold);
        int mtlsB = FreePorts.next();
        int mtlsGreeter = FreePorts.next();
        int mtlsHold = FreePorts.next();
        twoRelays = FreePorts.next();
        serverFirst = FreePorts.next();
        holding = FreePorts.next();
        mtls = mtlsB;
        mtlsHolding = mtlsHold;
        pilot = new ControlPlane();
        pilot.set(List.of(Xds.edsCluster("digest"), Xds.edsCluster("greeter"), Xds.edsCluster("holding"),
                        IstioMutualTest.istioMutual("mesh-digest", GATEWAY_ID), IstioMutualTest.istioMutual("mesh-greeter", GATEWAY_ID),
                        IstioMutualTest.istioMutual("mesh-holding", GATEWAY_ID)),
                List.of(Xds.endpoints("digest", digest), Xds.endpoints("greeter", greeter), Xds.endpoints("holding", hold),
                        Xds.endpoints("mesh-digest", mtlsB), Xds.endpoints("mesh-greeter", mtlsGreeter),
                        Xds.endpoints("mesh-holding", mtlsHold)),
                List.of(plainTcp("a-digest", twoRelays, "mesh-digest"), plainTcp("a-greeter", serverFirst, "mesh-greeter"),
                        plainTcp("a-holding", holding, "mesh-holding"), meshTcp("b-digest", mtlsB, "digest"),
                        meshTcp("b-greeter", mtlsGreeter, "greeter"), meshTcp("b-holding", mtlsHold, "holding")),
                List.of(), List.of());
        gw = TestGateway.ready(pilot, Map.of("mesh.gateway.ca.address", ca.address(),
                "mesh.gateway.ca.token-file", token.toString(), "mesh.gateway.ca.root-cert-file", root.toString(),
                "mesh.gateway.xds.tls", "false"));
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> gw.gateway.identity().orElseThrow().isReady());
        assertTrue(pilot.nacks().isEmpty(), () -> "NACKs: " + pilot.nacks());
    }

    @AfterAll
    void stop() throws Exception {
        for (ServerSocket s : servers) {
            s.close();
        }
        for (Socket s : clientSockets) {
            s.close();
        }
        if (gw != null) {
            gw.close();
        }
        if (pilot != null) {
            pilot.close();
        }
        if (ca != null) {
            ca.close();
        }
    }

    static Listener plainTcp(String name, int port, String cluster) {
        return Listener.newBuilder().setName(name).setAddress(Xds.address("127.0.0.1", port))
                .addFilterChains(FilterChain.newBuilder().addFilters(tcpProxy(cluster))).build();
    }

    /**
     * A TLS server terminating mesh mTLS (ISTIO_MUTUAL: the gateway's certificate, mesh clients only) to {@code cluster},
     * for Istio's mesh SNI only ({@link #MESH_SNI}: relay A's clusters send it, so it must cross the relays' TLS).
     */
    static Listener meshTcp(String name, int port, String cluster) {
        Listener l = GatewayTlsServersTest.tcp(name, port, MESH_SNI, GatewayTlsServersTest.meshTls(List.of()));
        return l.toBuilder().setFilterChains(0, l.getFilterChains(0).toBuilder().clearFilters().addFilters(tcpProxy(cluster)))
                .build();
    }

    static Filter tcpProxy(String cluster) {
        return Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(
                TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build())).build();
    }

    /** A server on 127.0.0.1, a thread per connection. */
    int serve(String name, TcpServers.Conversation<Socket> conversation) throws Exception {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.add(server);
        TcpServers.serve(server, name, 30_000, conversation);
        return server.getLocalPort();
    }

    /**
     * Reads an 8-byte answer size, then everything to the end of the client's input (its FIN), and only then answers:
     * the SHA-256 of what followed the size (hex, a line), then that many bytes of {@link #pattern}, and closes.
     */
    static void digest(Socket s) throws Exception {
        InputStream in = s.getInputStream();
        long size = new java.io.DataInputStream(in).readLong();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[64 * 1024];
        for (int n; (n = in.read(buf)) >= 0;) {
            sha.update(buf, 0, n);
        }
        OutputStream out = s.getOutputStream();
        out.write((HexFormat.of().formatHex(sha.digest()) + "\n").getBytes(StandardCharsets.US_ASCII));
        writePattern(out, size);
        out.flush();
    }

    /** Greets, shuts its output (FIN first, from the server's side), then reads to the end and records what it read. */
    void greetThenRead(Socket s) throws Exception {
        s.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        s.shutdownOutput();
        readByServerFirst.add(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** Reads until the connection ends and records how it ended. */
    void hold(Socket s) throws Exception {
        try {
            s.getInputStream().readAllBytes();
            holdingEnds.add("eof");
        } catch (java.io.IOException e) {
            holdingEnds.add(e.toString());
        }
    }

    static void writePattern(OutputStream out, long size) throws Exception {
        byte[] chunk = new byte[64 * 1024];
        for (long sent = 0; sent < size;) {
            int n = (int) Math.min(chunk.length, size - sent);
            for (int i = 0; i < n; i++) {
                chunk[i] = (byte) ((sent + i) % 251);
            }
            out.write(chunk, 0, n);
            sent += n;
        }
    }

    /**
     * Sends the answer size and {@code request} bytes of pattern, shuts its output, and checks the whole answer: the
     * digest of what it sent, then {@code answer} bytes of pattern, then the end of the stream.
     */
    static void exchange(Socket s, long request, long answer) throws Exception {
        s.setSoTimeout(30_000);
        OutputStream out = s.getOutputStream();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        out.write(java.nio.ByteBuffer.allocate(8).putLong(answer).array());
        ByteCountingDigest counting = new ByteCountingDigest(out, sha);
        writePattern(counting, request);
        out.flush();
        s.shutdownOutput();
        InputStream in = s.getInputStream();
        StringBuilder line = new StringBuilder();
        for (int c; (c = in.read()) != '\n';) {
            assertTrue(c >= 0, "the answer ended before its digest line: " + line);
            line.append((char) c);
        }
        assertEquals(HexFormat.of().formatHex(sha.digest()), line.toString(), "the server read all of the request");
        byte[] buf = new byte[64 * 1024];
        long got = 0;
        for (int n; (n = in.read(buf)) >= 0;) {
            for (int i = 0; i < n; i++) {
                if (buf[i] != (byte) ((got + i) % 251)) {
                    throw new AssertionError("answer byte " + (got + i) + " differs");
                }
            }
            got += n;
        }
        assertEquals(answer, got, "the whole answer, then the end of the stream");
    }

    /** Passes writes on to {@code out} and into {@code digest}. */
    static final class ByteCountingDigest extends java.io.FilterOutputStream {
        private final MessageDigest digest;

        ByteCountingDigest(OutputStream out, MessageDigest digest) {
            super(out);
            this.digest = digest;
        }

        @Override
        public void write(byte[] b, int off, int len) throws java.io.IOException {
            digest.update(b, off, len);
            out.write(b, off, len);
        }
    }

    /**
     * A JDK TLS client ({@code protocol}) with a mesh workload certificate, trusting the mesh root. Closing it leaves
     * its TCP socket open (the gateway closes it once both directions are done; the test's end closes it here).
     */
    SSLSocket meshClient(int port, String protocol) throws Exception {
        SSLContext tls = ca.workloadTls(CLIENT_ID, protocol);
        // Layered on a TCP socket it does not own: its shutdownOutput sends the close_notify alone, no FIN after it.
        Socket tcp = new Socket("127.0.0.1", port);
        clientSockets.add(tcp);
        SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(tcp, "127.0.0.1", port, false);
        javax.net.ssl.SSLParameters p = s.getSSLParameters();
        p.setProtocols(new String[] {protocol});
        // Istio's mesh SNI, as raw bytes: the JDK's SNIHostName refuses it, but sends what it is given.
        p.setServerNames(List.of(new javax.net.ssl.SNIServerName(javax.net.ssl.StandardConstants.SNI_HOST_NAME,
                MESH_SNI.getBytes(StandardCharsets.US_ASCII)) { }));
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    @Test
    void aClientsHalfCloseCrossesTwoRelaysOverMeshMtlsAndTheAnswerComesBackAfterTheServerSawEof() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (Socket s = new Socket("127.0.0.1", twoRelays)) {
                exchange(s, 100 + i, 200 + i);
            }
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().openConnections() == 0);
    }

    @Test
    void severalMegabytesEachWayCrossTwoRelaysAroundTheHalfClose() throws Exception {
        try (Socket s = new Socket("127.0.0.1", twoRelays)) {
            exchange(s, 3L << 20, 8L << 20);
        }
    }

    @Test
    void anMtlsClientsCloseNotifyIsPassedOnAsAFinAndTheAnswerStillComesBack() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (SSLSocket s = meshClient(mtls, "TLSv1.3")) {
                assertEquals("TLSv1.3", s.getSession().getProtocol());
                exchange(s, 1000 + i, 5L << 20);
            }
        }
    }

    /**
     * The relays' TLS is the JDK's, which takes Istio's mesh SNI here only because the JDK's server leaves SNI to Netty
     * ({@code JdkMeshSni}): an OpenSSL client (as Envoy and this mesh's sidecars on BoringSSL send it) with a
     * workload certificate gets through to the chain that serves that name only.
     */
    @Test
    void anOpensslClientsMeshSniIsTakenByTheRelaysTls() throws Exception {
        TestCitadel.Issued issued = ca.workload(CLIENT_ID);
        Path cert = Files.writeString(dir.resolve("client.crt"), issued.chainPem());
        Path key = Files.writeString(dir.resolve("client.key"), issued.keyPem());
        String root = ca.writeRoot(dir).toString();
        String out = Run.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + mtls, "-servername", MESH_SNI,
                "-tls1_3", "-cert", cert.toString(), "-key", key.toString(), "-CAfile", root,
                "-verify_return_error", "-brief"), "");
        assertTrue(out.contains("CONNECTION ESTABLISHED") && out.contains("TLSv1.3"), out);
        String wrongName = Run.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + mtls, "-servername",
                "outbound_.80_._.other.demo.svc.cluster.local", "-tls1_3", "-cert", cert.toString(), "-key", key.toString(),
                "-CAfile", root, "-brief"), "");
        assertTrue(!wrongName.contains("CONNECTION ESTABLISHED"), "no chain for another name: " + wrongName);
    }

    @Test
    void aServerThatEndsFirstStillGetsWhatTheClientSendsAfterwards() throws Exception {
        try (Socket s = new Socket("127.0.0.1", serverFirst)) {
            s.setSoTimeout(30_000);
            assertEquals("hello\n", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII),
                    "the greeting, then the end of the stream: the server's FIN came through");
            s.getOutputStream().write("after the server's end".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.shutdownOutput();
            assertEquals("after the server's end", readByServerFirst.poll(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aClientsResetClosesBothSidesPromptly() throws Exception {
        holdingEnds.clear();
        Socket s = new Socket("127.0.0.1", holding);
        s.getOutputStream().write("something".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().openConnections() >= 2);
        s.setSoLinger(true, 0);
        s.close();   // an RST, not a FIN
        String end = holdingEnds.poll(5, TimeUnit.SECONDS);
        assertTrue(end != null, "the server's connection ended within 5 s of the client's reset");
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> gw.gateway.dataPlane().openConnections() == 0);
    }

    /**
     * TLS 1.2 has no half-close (RFC 5246 7.2.1: a close_notify is answered with one and the connection closed; the
     * JDK's engine does so): the client's close_notify closes both directions, promptly, as before.
     */
    @Test
    void aTls12ClientsCloseNotifyClosesBothDirectionsPromptly() throws Exception {
        holdingEnds.clear();
        try (SSLSocket s = meshClient(mtlsHolding, "TLSv1.2")) {
            assertEquals("TLSv1.2", s.getSession().getProtocol());
            s.setSoTimeout(5_000);
            s.getOutputStream().write("something".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.shutdownOutput();
            assertEquals("eof", holdingEnds.poll(5, TimeUnit.SECONDS), "the server's connection ended with a FIN");
            int read;
            try {
                read = s.getInputStream().read();
            } catch (javax.net.ssl.SSLException | java.net.SocketException closed) {
                read = -1;   // closed under the client
            }
            assertEquals(-1, read, "the client's connection ended too");
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> gw.gateway.dataPlane().openConnections() == 0);
    }
}
