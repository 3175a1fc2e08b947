package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.micrometer.core.instrument.Counter;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Istio's metadata exchange over TCP on the client side, as the gateway's tcp_proxy does it to a cluster with the
 * {@code istio.metadata_exchange} upstream filter (istiod's TCPClusterMx) and ISTIO_MUTUAL offering ALPN
 * {@code istio-peer-exchange} first. The upstream peers are JDK TLS servers with mesh workload certificates that speak
 * the exchange's wire format as istio/proxy defines it (a big-endian magic {@code 0x3D230467}, a length, then an
 * {@code Any} of a {@code Struct} with {@code x-envoy-peer-metadata} and {@code x-envoy-peer-metadata-id}); two real
 * sidecars exchanging with each other are {@code SidecarMeshIT}'s. Checked: the gateway's metadata goes first and is
 * not counted as the client's bytes; the peer's is removed before the client sees anything and names the destination
 * in Istio's TCP metrics, with the peer's SPIFFE ID as {@code destination_principal}; a peer that does not pick the
 * protocol, or that answers without the magic, is relayed untouched as an unknown workload; one that announces more
 * than 64 KiB of metadata is closed; a cluster without the filter never offers the protocol. On the server side, an
 * ISTIO_MUTUAL TCP server of the gateway (istiod's TCPListenerMx on it) sends its metadata to a mesh client that picked
 * the protocol and takes the client's off the stream; and the gateway's two sides exchange with each other.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TcpMetadataExchangeTest {
    static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
    static final String PEER_ID = "spiffe://cluster.local/ns/bookinfo/sa/reviews";
    static final String PEER_NODE = "sidecar~10.1.2.3~reviews-v2-7d9f.bookinfo~bookinfo.svc.cluster.local";
    static final int MAGIC = 0x3D230467;

    Path dir;
    TestCitadel ca;
    ControlPlane pilot;
    TestGateway gw;
    final List<ServerSocket> servers = new CopyOnWriteArrayList<>();
    /** Per peer server: the ALPN protocols the gateway offered, in order, one entry per connection. */
    final Map<String, BlockingQueue<List<String>>> offered = Map.of("exchanging", new LinkedBlockingQueue<>(),
            "plain", new LinkedBlockingQueue<>(), "no-magic", new LinkedBlockingQueue<>(), "huge", new LinkedBlockingQueue<>(),
            "no-filter", new LinkedBlockingQueue<>());
    /** What the exchanging peer read as the gateway's metadata, then the first application bytes it read. */
    final BlockingQueue<Struct> gatewayMetadata = new LinkedBlockingQueue<>();
    final BlockingQueue<byte[]> firstBytes = new LinkedBlockingQueue<>();
    int exchanging;
    int plain;
    int noMagic;
    int huge;
    int noFilter;
    /** The gateway's ISTIO_MUTUAL TCP server with the exchange, to a plaintext echo server. */
    int meshServer;
    /** Plain TCP in, to {@link #meshServer} over ISTIO_MUTUAL with the exchange. */
    int toSelf;
    static final String CLIENT_ID = "spiffe://cluster.local/ns/demo/sa/client";
    /** What the plaintext echo server behind {@link #meshServer} read first, per connection. */
    final BlockingQueue<byte[]> backendFirst = new LinkedBlockingQueue<>();

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("tcp-mx");
        ca = new TestCitadel(Map.of("gateway-token", GATEWAY_ID));
        Path root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "gateway-token\n");
        SSLContext peerTls = peerTls();
        int exchangingPeer = peer(peerTls, "exchanging", true, this::exchange);
        int plainPeer = peer(peerTls, "plain", false, this::echoRecordingFirst);
        int noMagicPeer = peer(peerTls, "no-magic", true, s -> {
            readGatewayMetadata(s.getInputStream());
            s.getOutputStream().write("NOMAGIC!".getBytes(StandardCharsets.US_ASCII));
            echo(s);
        });
        int hugePeer = peer(peerTls, "huge", true, s -> {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(MAGIC);
            out.writeInt(1 << 20);
            out.flush();
            echo(s);
        });
        int noFilterPeer = peer(peerTls, "no-filter", true, this::echoRecordingFirst);
        exchanging = io.mesh.testing.FreePorts.next();
        plain = io.mesh.testing.FreePorts.next();
        noMagic = io.mesh.testing.FreePorts.next();
        huge = io.mesh.testing.FreePorts.next();
        noFilter = io.mesh.testing.FreePorts.next();
        meshServer = io.mesh.testing.FreePorts.next();
        toSelf = io.mesh.testing.FreePorts.next();
        int backend = plainEcho();
        pilot = new ControlPlane();
        pilot.set(List.of(withExchange(IstioMutualTest.istioMutual("exchanging", PEER_ID)),
                        withExchange(IstioMutualTest.istioMutual("plain", PEER_ID)),
                        withExchange(IstioMutualTest.istioMutual("no-magic", PEER_ID)),
                        withExchange(IstioMutualTest.istioMutual("huge", PEER_ID)),
                        IstioMutualTest.istioMutual("no-filter", PEER_ID), Xds.edsCluster("backend"),
                        withExchange(IstioMutualTest.istioMutual("self", GATEWAY_ID))),
                List.of(Xds.endpoints("exchanging", exchangingPeer), Xds.endpoints("plain", plainPeer),
                        Xds.endpoints("no-magic", noMagicPeer), Xds.endpoints("huge", hugePeer),
                        Xds.endpoints("no-filter", noFilterPeer), Xds.endpoints("backend", backend),
                        Xds.endpoints("self", meshServer)),
                List.of(TcpHalfCloseOverMeshTlsTest.plainTcp("to-exchanging", exchanging, "exchanging"),
                        TcpHalfCloseOverMeshTlsTest.plainTcp("to-plain", plain, "plain"),
                        TcpHalfCloseOverMeshTlsTest.plainTcp("to-no-magic", noMagic, "no-magic"),
                        TcpHalfCloseOverMeshTlsTest.plainTcp("to-huge", huge, "huge"),
                        TcpHalfCloseOverMeshTlsTest.plainTcp("to-no-filter", noFilter, "no-filter"),
                        meshServerWithExchange("mesh-server", meshServer, "backend"),
                        TcpHalfCloseOverMeshTlsTest.plainTcp("to-self", toSelf, "self")),
                List.of(), List.of());
        gw = TestGateway.ready(pilot, Map.of("mesh.gateway.ca.address", ca.address(),
                "mesh.gateway.ca.token-file", token.toString(), "mesh.gateway.ca.root-cert-file", root.toString(),
                "mesh.gateway.xds.tls", "false"));
        await().atMost(Duration.ofSeconds(20)).until(() -> gw.gateway.identity().orElseThrow().isReady());
        assertTrue(pilot.nacks().isEmpty(), () -> "NACKs: " + pilot.nacks());
    }

    @AfterAll
    void stop() throws Exception {
        for (ServerSocket s : servers) {
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

    /** The gateway's ISTIO_MUTUAL TCP server (for Istio's mesh SNI) with istiod's TCPListenerMx first, to {@code cluster}. */
    static io.envoyproxy.envoy.config.listener.v3.Listener meshServerWithExchange(String name, int port, String cluster) {
        var l = TcpHalfCloseOverMeshTlsTest.meshTcp(name, port, cluster);
        return l.toBuilder().setFilterChains(0, l.getFilterChains(0).toBuilder().addFilters(0,
                io.envoyproxy.envoy.config.listener.v3.Filter.newBuilder().setName("istio.metadata_exchange")
                        .setTypedConfig(exchangeConfig()))).build();
    }

    static Any exchangeConfig() {
        return Any.pack(TypedStruct.newBuilder()
                .setTypeUrl("type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange")
                .setValue(Struct.newBuilder().putFields("protocol", str("istio-peer-exchange"))
                        .putFields("enable_discovery", Value.newBuilder().setBoolValue(true).build()))
                .build());
    }

    @Test
    void theGatewaysMeshServerExchangesWithAMeshClientThatPicksTheProtocol() throws Exception {
        try (SSLSocket s = meshClient(meshServer, List.of("istio-peer-exchange", "istio"))) {
            assertEquals("istio-peer-exchange", s.getApplicationProtocol());
            Struct gateway = readGatewayMetadata(s.getInputStream());
            assertEquals("istio-ingressgateway", gateway.getFieldsOrThrow("x-envoy-peer-metadata").getStructValue()
                    .getFieldsOrThrow("WORKLOAD_NAME").getStringValue(), "the gateway's metadata comes first");
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            byte[] any = Any.newBuilder().setTypeUrl("type.googleapis.com/google.protobuf.Struct").setValue(Struct.newBuilder()
                    .putFields("x-envoy-peer-metadata", Value.newBuilder().setStructValue(Struct.newBuilder()
                            .putFields("WORKLOAD_NAME", str("client"))).build()).build().toByteString()).build().toByteArray();
            out.writeInt(MAGIC);
            out.writeInt(any.length);
            out.write(any);
            out.write("hi".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertArrayEquals("echo:hi".getBytes(StandardCharsets.US_ASCII), readN(s.getInputStream(), 7));
        }
        assertArrayEquals("hi".getBytes(StandardCharsets.US_ASCII), backendFirst.poll(10, TimeUnit.SECONDS),
                "the client's metadata is taken off the stream");
    }

    @Test
    void aMeshClientWithoutTheProtocolGetsTheStreamUntouched() throws Exception {
        try (SSLSocket s = meshClient(meshServer, List.of("istio"))) {
            assertTrue(s.getApplicationProtocol() == null || s.getApplicationProtocol().isEmpty(), s.getApplicationProtocol());
            s.getOutputStream().write("plain".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            assertArrayEquals("echo:plain".getBytes(StandardCharsets.US_ASCII), readN(s.getInputStream(), 10));
        }
        assertArrayEquals("plain".getBytes(StandardCharsets.US_ASCII), backendFirst.poll(10, TimeUnit.SECONDS));
    }

    @Test
    void theGatewaysTwoSidesExchangeWithEachOther() throws Exception {
        byte[] request = "round trip".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(echoOf(request), roundTrip(toSelf, request));
        assertArrayEquals(request, backendFirst.poll(10, TimeUnit.SECONDS), "no metadata reaches the backend");
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.registry.find("istio_tcp_connections_opened")
                .tag("destination_workload", "istio-ingressgateway").tag("destination_principal", GATEWAY_ID)
                .tag("reporter", "source").counters().stream().mapToDouble(Counter::count).sum() >= 1);
    }

    /** A JDK TLS client with a mesh workload certificate, Istio's mesh SNI, offering {@code alpn}; handshake done. */
    SSLSocket meshClient(int port, List<String> alpn) throws Exception {
        SSLContext tls = ca.workloadTls(CLIENT_ID, "TLSv1.3");
        SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        javax.net.ssl.SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new javax.net.ssl.SNIServerName(javax.net.ssl.StandardConstants.SNI_HOST_NAME,
                TcpHalfCloseOverMeshTlsTest.MESH_SNI.getBytes(StandardCharsets.US_ASCII)) { }));
        p.setApplicationProtocols(alpn.toArray(String[]::new));
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    /** A plaintext echo server on 127.0.0.1 recording what it reads first per connection. */
    int plainEcho() throws Exception {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.add(server);
        TcpServers.<Socket>serve(server, "backend", 20_000, s -> echoRecordingFirst(s, backendFirst));
        return server.getLocalPort();
    }

    /** The cluster with istiod's TCPClusterMx upstream filter. */
    static Cluster withExchange(Cluster c) {
        return c.toBuilder().addFilters(io.envoyproxy.envoy.config.cluster.v3.Filter.newBuilder()
                .setName("istio.metadata_exchange").setTypedConfig(exchangeConfig())).build();
    }

    @Test
    void bothSidesExchangeFirstAndThePeersWorkloadNamesTheDestination() throws Exception {
        byte[] request = "hello over the mesh".getBytes(StandardCharsets.US_ASCII);
        double opened = tcp("istio_tcp_connections_opened", "reviews-v2");
        double sent = tcp("istio_tcp_sent_bytes", "reviews-v2");
        double received = tcp("istio_tcp_received_bytes", "reviews-v2");
        assertArrayEquals(echoOf(request), roundTrip(exchanging, request),
                "the client gets the peer's answer and nothing of its metadata");
        assertEquals(List.of("istio-peer-exchange", "istio"), offered.get("exchanging").poll(10, TimeUnit.SECONDS));
        Struct own = gatewayMetadata.poll(10, TimeUnit.SECONDS);
        assertNotNull(own, "the gateway's metadata came first");
        Struct md = own.getFieldsOrThrow("x-envoy-peer-metadata").getStructValue();
        assertEquals("istio-ingressgateway", md.getFieldsOrThrow("WORKLOAD_NAME").getStringValue());
        assertEquals("istio-system", md.getFieldsOrThrow("NAMESPACE").getStringValue());
        assertTrue(own.getFieldsOrThrow("x-envoy-peer-metadata-id").getStringValue().startsWith("router~"),
                own.toString());
        assertArrayEquals(request, firstBytes.poll(10, TimeUnit.SECONDS), "then the client's bytes, as it sent them");
        await().atMost(Duration.ofSeconds(10)).until(() -> tcp("istio_tcp_connections_closed", "reviews-v2") >= 1);
        assertEquals(opened + 1, tcp("istio_tcp_connections_opened", "reviews-v2"));
        assertEquals(received + request.length, tcp("istio_tcp_received_bytes", "reviews-v2"), "metadata is not counted");
        assertEquals(sent + request.length + 5, tcp("istio_tcp_sent_bytes", "reviews-v2"), "metadata is not counted");
        Counter c = gw.registry.find("istio_tcp_connections_opened").tag("destination_workload", "reviews-v2")
                .tag("destination_workload_namespace", "bookinfo").tag("destination_app", "reviews")
                .tag("destination_version", "v2").tag("destination_canonical_service", "reviews")
                .tag("destination_canonical_revision", "v2").tag("destination_cluster", "east")
                .tag("destination_principal", PEER_ID).tag("source_workload", "istio-ingressgateway")
                .tag("reporter", "source").tag("request_protocol", "tcp").counter();
        assertNotNull(c, "Istio's TCP metrics name the peer's workload and identity");
    }

    @Test
    void aPeerThatDoesNotPickTheProtocolIsRelayedUntouchedAsAnUnknownWorkload() throws Exception {
        byte[] request = "no exchange here".getBytes(StandardCharsets.US_ASCII);
        double before = unknownPeerOpened();
        assertArrayEquals(echoOf(request), roundTrip(plain, request));
        assertEquals(List.of("istio-peer-exchange", "istio"), offered.get("plain").poll(10, TimeUnit.SECONDS));
        assertArrayEquals(request, firstBytes.poll(10, TimeUnit.SECONDS), "no metadata before the client's bytes");
        await().atMost(Duration.ofSeconds(10)).until(() -> unknownPeerOpened() >= before + 1);
    }

    @Test
    void aPeerWithoutTheMagicIsAnUnknownWorkloadAndItsBytesAreRelayed() throws Exception {
        byte[] request = "ping".getBytes(StandardCharsets.US_ASCII);
        double before = unknownPeerOpened();
        try (Socket s = new Socket("127.0.0.1", noMagic)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request);
            byte[] got = readN(s.getInputStream(), 8 + request.length + 5);
            assertEquals("NOMAGIC!echo:ping", new String(got, StandardCharsets.US_ASCII));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> unknownPeerOpened() >= before + 1);
    }

    @Test
    void aPeerAnnouncingMoreThan64KiBOfMetadataIsClosed() throws Exception {
        try (Socket s = new Socket("127.0.0.1", huge)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
            assertEquals(-1, s.getInputStream().read(), "closed, nothing relayed");
        }
    }

    @Test
    void aClusterWithoutTheFilterNeverOffersTheProtocol() throws Exception {
        byte[] request = "plain relay".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(echoOf(request), roundTrip(noFilter, request));
        assertEquals(List.of("istio"), offered.get("no-filter").poll(10, TimeUnit.SECONDS),
                "istio-peer-exchange is dropped: the peer would send metadata into the relayed bytes");
        assertArrayEquals(request, firstBytes.poll(10, TimeUnit.SECONDS));
    }

    /** A TCP meter for connections to the peer's workload ({@code destination_workload}), 0 if none yet. */
    double tcp(String name, String workload) {
        return gw.registry.find(name).tag("destination_workload", workload).counters().stream()
                .mapToDouble(Counter::count).sum();
    }

    /** Connections opened to a peer with the peer's identity but no workload name. */
    double unknownPeerOpened() {
        return gw.registry.find("istio_tcp_connections_opened").tag("destination_workload", "unknown")
                .tag("destination_principal", PEER_ID).counters().stream().mapToDouble(Counter::count).sum();
    }

    // ---- the peers: mesh workloads speaking istio/proxy's TCP metadata exchange

    /** The peer's workload certificate, trusting the mesh root. */
    SSLContext peerTls() throws Exception {
        return ca.workloadTls(PEER_ID, "TLSv1.3");
    }

    /**
     * A mesh peer on 127.0.0.1 that records the ALPN protocols offered and picks {@code istio-peer-exchange} when
     * {@code exchange} (else none), a thread per connection.
     */
    int peer(SSLContext tls, String name, boolean exchange, TcpServers.Conversation<SSLSocket> conversation) throws Exception {
        SSLServerSocket server = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 50,
                InetAddress.getLoopbackAddress());
        server.setNeedClientAuth(true);
        servers.add(server);
        TcpServers.<SSLSocket>serve(server, name, 20_000, s -> {
            s.setHandshakeApplicationProtocolSelector((sock, protocols) -> {
                offered.get(name).add(List.copyOf(protocols));
                return exchange && protocols.contains("istio-peer-exchange") ? "istio-peer-exchange" : "";
            });
            s.startHandshake();
            conversation.run(s);
        });
        return server.getLocalPort();
    }

    /** Reads the gateway's metadata, answers with the peer's, then echoes. */
    void exchange(SSLSocket s) throws Exception {
        assertEquals("istio-peer-exchange", s.getApplicationProtocol());
        gatewayMetadata.add(readGatewayMetadata(s.getInputStream()));
        Struct labels = Struct.newBuilder().putFields("app", str("reviews")).putFields("version", str("v2"))
                .putFields("service.istio.io/canonical-name", str("reviews"))
                .putFields("service.istio.io/canonical-revision", str("v2")).build();
        Struct metadata = Struct.newBuilder().putFields("NAME", str("reviews-v2-7d9f"))
                .putFields("NAMESPACE", str("bookinfo")).putFields("WORKLOAD_NAME", str("reviews-v2"))
                .putFields("CLUSTER_ID", str("east")).putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
                .build();
        byte[] any = Any.newBuilder().setTypeUrl("type.googleapis.com/google.protobuf.Struct")
                .setValue(Struct.newBuilder().putFields("x-envoy-peer-metadata",
                        Value.newBuilder().setStructValue(metadata).build())
                        .putFields("x-envoy-peer-metadata-id", str(PEER_NODE)).build().toByteString())
                .build().toByteArray();
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeInt(MAGIC);
        out.writeInt(any.length);
        out.write(any);
        out.flush();
        echoRecordingFirst(s);
    }

    /** The header (magic checked) and the Any of the Struct the gateway sent, as istio/proxy reads it. */
    static Struct readGatewayMetadata(InputStream in) throws Exception {
        DataInputStream data = new DataInputStream(in);
        assertEquals(MAGIC, data.readInt(), "Istio's magic");
        byte[] any = new byte[data.readInt()];
        data.readFully(any);
        Any parsed = Any.parseFrom(any);
        assertEquals("type.googleapis.com/google.protobuf.Struct", parsed.getTypeUrl());
        return Struct.parseFrom(parsed.getValue());
    }

    void echoRecordingFirst(SSLSocket s) throws Exception {
        echoRecordingFirst(s, firstBytes);
    }

    /** Echoes ({@link #echo}), recording the first read in {@code first}. */
    static void echoRecordingFirst(Socket s, BlockingQueue<byte[]> first) throws Exception {
        byte[] buf = new byte[64 * 1024];
        int n = s.getInputStream().read(buf);
        if (n < 0) {
            return;
        }
        byte[] read = java.util.Arrays.copyOf(buf, n);
        first.add(read);
        s.getOutputStream().write(echoOf(read));
        s.getOutputStream().flush();
        echo(s);
    }

    /** Answers each read with "echo:" and what it read. */
    static void echo(Socket s) throws Exception {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        byte[] buf = new byte[64 * 1024];
        for (int n; (n = in.read(buf)) >= 0;) {
            out.write(echoOf(java.util.Arrays.copyOf(buf, n)));
            out.flush();
        }
    }

    static byte[] echoOf(byte[] b) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes("echo:".getBytes(StandardCharsets.US_ASCII));
        o.writeBytes(b);
        return o.toByteArray();
    }

    /** Sends {@code request} through the gateway's listener on {@code port} and reads the echo's length back. */
    static byte[] roundTrip(int port, byte[] request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request);
            return readN(s.getInputStream(), request.length + 5);
        }
    }

    static byte[] readN(InputStream in, int n) throws Exception {
        byte[] b = new byte[n];
        new DataInputStream(in).readFully(b);
        return b;
    }

    static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
