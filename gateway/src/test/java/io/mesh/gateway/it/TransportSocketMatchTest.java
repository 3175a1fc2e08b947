package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.mesh.gateway.identity.WorkloadIdentity;
import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Auto mTLS per endpoint, as istiod configures Envoy for a partly injected service: one cluster with istiod's
 * {@code transport_socket_matches} ({@code tlsMode-istio}: ISTIO_MUTUAL; {@code tlsMode-disabled}: raw_buffer) and two
 * endpoints, one with {@code {tlsMode: istio}} metadata that serves mesh mTLS (a workload certificate from the test's
 * citadel, client certificates required) and one plaintext server without it. Real sockets: requests reach both,
 * each over its own transport, on the fast path, the Vert.x path, a mirror and a tcp_proxy; the mesh endpoint's
 * SPIFFE ID is checked; the admin view names each endpoint's transport.
 */
class TransportSocketMatchTest {
    static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway";
    static final String BACKEND_ID = "spiffe://cluster.local/ns/demo/sa/backend";
    static final Struct ISTIO = Struct.newBuilder().putFields("tlsMode", Value.newBuilder().setStringValue("istio").build())
            .build();

    static Path dir;
    static TestCitadel ca;
    static Vertx vertx;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static int tcpPort;
    static int meshPort;
    static int plainPort;
    static final List<ServerSocket> servers = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** What the mesh HTTP backend saw: "HOST PEER-SPIFFE-ID" per request. */
    static final BlockingQueue<String> meshSeen = new LinkedBlockingQueue<>();
    static List<Cluster> clusters;
    static List<ClusterLoadAssignment> assignments;
    static List<io.envoyproxy.envoy.config.listener.v3.Listener> listeners;
    static List<io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("socket-matches");
        ca = new TestCitadel(Map.of("gateway-token", GATEWAY_ID));
        Path root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "gateway-token\n");
        vertx = Vertx.vertx();

        TestCitadel.Issued backend = ca.workload(BACKEND_ID);
        meshPort = listen(new HttpServerOptions().setSsl(true)
                .setKeyCertOptions(new PemKeyCertOptions().addCertValue(Buffer.buffer(backend.chainPem()))
                        .addKeyValue(Buffer.buffer(backend.keyPem())))
                .setClientAuth(ClientAuth.REQUIRED)
                .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(TestCitadel.pem(ca.root)))), true);
        plainPort = listen(new HttpServerOptions(), false);
        int meshTcp = tcpServer(true);
        int plainTcp = tcpServer(false);

        port = FreePorts.next();
        tcpPort = FreePorts.next();
        clusters = List.of(autoMtls("mixed", BACKEND_ID), autoMtls("wrong", "spiffe://cluster.local/ns/demo/sa/other"),
                autoMtls("mixed-tcp", BACKEND_ID), Xds.edsCluster("plain-only"));
        assignments = List.of(mixed("mixed", meshPort, plainPort), mixed("wrong", meshPort, plainPort),
                mixed("mixed-tcp", meshTcp, plainTcp), Xds.endpoints("plain-only", plainPort));
        // /vertx: a per-try timeout keeps the request off the fast path (FastExchange takes no such route).
        Route vertxPath = Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/vertx"))
                .setRoute(RouteAction.newBuilder().setCluster("mixed").setRetryPolicy(RetryPolicy.newBuilder()
                        .setRetryOn("connect-failure").setNumRetries(UInt32Value.of(1))
                        .setPerTryTimeout(Durations.fromSeconds(5)))).build();
        Route mirrored = Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/mirror"))
                .setRoute(RouteAction.newBuilder().setCluster("plain-only").addRequestMirrorPolicies(
                        RouteAction.RequestMirrorPolicy.newBuilder().setCluster("mixed"))).build();
        listeners = List.of(Xds.httpListener("http", port, "http.80"),
                TcpHalfCloseOverMeshTlsTest.plainTcp("tcp", tcpPort, "mixed-tcp"));
        routes = List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), vertxPath, mirrored,
                Xds.prefixTo("/wrong", "wrong"), Xds.prefixTo("/fast", "mixed"))));
        pilot = new ControlPlane();
        pilot.set(clusters, assignments, listeners, routes, List.of());
        gw = TestGateway.ready(pilot, Map.of("mesh.gateway.ca.address", ca.address(),
                "mesh.gateway.ca.token-file", token.toString(), "mesh.gateway.ca.root-cert-file", root.toString(),
                "mesh.gateway.xds.tls", "false", "mesh.gateway.listeners.event-loops", "1"));
        await().atMost(Duration.ofSeconds(20)).until(() -> gw.gateway.identity().orElseThrow().isReady());
        assertTrue(pilot.nacks().isEmpty(), () -> "NACKs: " + pilot.nacks());
    }

    @AfterAll
    static void stop() throws Exception {
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
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** An HTTP server on 127.0.0.1 answering "mesh PEER-ID" (mTLS) or "plain". */
    static int listen(HttpServerOptions o, boolean mesh) throws Exception {
        return vertx.createHttpServer(o.setHost("127.0.0.1").setPort(0)).requestHandler(r -> {
            if (!mesh) {
                r.response().end("plain");
                return;
            }
            try {
                X509Certificate peer = (X509Certificate) r.connection().sslSession().getPeerCertificates()[0];
                String id = WorkloadIdentity.spiffeIdOf(peer).orElse("-");
                meshSeen.add(r.getHeader("host") + " " + id);
                r.response().end("mesh " + id);
            } catch (Exception e) {
                r.response().setStatusCode(500).end(e.toString());
            }
        }).listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
    }

    /** A TCP server that greets each connection with "mesh PEER-ID" (mesh mTLS, client certificates required) or "plain". */
    static int tcpServer(boolean mesh) throws Exception {
        ServerSocket server;
        if (mesh) {
            SSLServerSocket tls = (SSLServerSocket) ca.workloadTls(BACKEND_ID, "TLSv1.3").getServerSocketFactory()
                    .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
            tls.setNeedClientAuth(true);
            server = tls;
        } else {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        }
        servers.add(server);
        TcpServers.<Socket>serve(server, mesh ? "mesh-tcp" : "plain-tcp", 10_000, s -> {
            String greeting = "plain";
            if (s instanceof SSLSocket t) {
                t.startHandshake();
                greeting = "mesh " + WorkloadIdentity.spiffeIdOf((X509Certificate) t.getSession().getPeerCertificates()[0])
                        .orElse("-");
            }
            s.getOutputStream().write((greeting + "\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
        });
        return server.getLocalPort();
    }

    /**
     * istiod's auto-mTLS cluster: ISTIO_MUTUAL (SDS default/ROOTCA, SANs, ALPN as pilot writes it; an SNI the JDK's
     * servers take) for {@code {tlsMode: istio}}, then raw_buffer for every other endpoint.
     */
    static Cluster autoMtls(String name, String... sans) throws Exception {
        TransportSocket mesh = IstioMutualTest.istioMutual(name, sans).getTransportSocket();
        UpstreamTlsContext ctx = mesh.getTypedConfig().unpack(UpstreamTlsContext.class).toBuilder()
                .setSni("backend.demo.svc.cluster.local").build();
        return Xds.edsCluster(name).toBuilder()
                .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-istio")
                        .setMatch(ISTIO).setTransportSocket(mesh.toBuilder().setTypedConfig(Any.pack(ctx))))
                .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-disabled")
                        .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.raw_buffer")
                                .setTypedConfig(Any.pack(RawBuffer.getDefaultInstance()))))
                .build();
    }

    /** Two endpoints: the mesh one with istiod's match metadata, the plain one without. */
    static ClusterLoadAssignment mixed(String cluster, int mesh, int plain) {
        return ClusterLoadAssignment.newBuilder().setClusterName(cluster).addEndpoints(LocalityLbEndpoints.newBuilder()
                .setLoadBalancingWeight(UInt32Value.of(1))
                .addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint
                        .newBuilder().setAddress(Xds.address("127.0.0.1", mesh)))
                        .setMetadata(Metadata.newBuilder().putFilterMetadata("envoy.transport_socket_match", ISTIO)))
                .addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint
                        .newBuilder().setAddress(Xds.address("127.0.0.1", plain))))).build();
    }

    static String get(String path) throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "10", "-w", " %{http_code}", "http://127.0.0.1:" + port + path), null);
    }

    /** What {@code n} requests to {@code path} answered (round robin over the two endpoints: each twice or more). */
    static Set<String> answers(String path, int n) throws Exception {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            seen.add(get(path));
        }
        return seen;
    }

    @Test
    void theFastPathReachesTheMeshEndpointOverMtlsAndThePlainOneInPlaintext() throws Exception {
        long fast = gw.gateway.dataPlane().fastPathRequests();
        assertEquals(Set.of("mesh " + GATEWAY_ID + " 200", "plain 200"), answers("/fast", 6));
        assertEquals(fast + 6, gw.gateway.dataPlane().fastPathRequests(), "all six went the fast path");
    }

    @Test
    void theVertxPathReachesTheMeshEndpointOverMtlsAndThePlainOneInPlaintext() throws Exception {
        long fast = gw.gateway.dataPlane().fastPathRequests();
        assertEquals(Set.of("mesh " + GATEWAY_ID + " 200", "plain 200"), answers("/vertx", 6));
        assertEquals(fast, gw.gateway.dataPlane().fastPathRequests(), "none went the fast path");
    }

    @Test
    void theMeshEndpointMustPresentTheExpectedSpiffeIdThePlainOneIsUntouched() throws Exception {
        // "wrong" expects another SPIFFE ID: the mesh endpoint fails the handshake (503), the plain one still answers.
        Set<String> seen = answers("/wrong", 6);
        assertTrue(seen.contains("plain 200"), seen::toString);
        assertTrue(seen.stream().anyMatch(a -> a.endsWith(" 503")), seen::toString);
        assertEquals(2, seen.size(), seen::toString);
    }

    @Test
    void aMirrorUsesTheTransportOfTheEndpointItPicks() {
        // The mirror picks an endpoint of "mixed" at random: until it picks the mesh one, which must see mTLS.
        meshSeen.clear();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            assertEquals("plain 200", get("/mirror"));
            return meshSeen.stream().anyMatch(s -> s.startsWith("127.0.0.1-shadow:") && s.endsWith(" " + GATEWAY_ID));
        });
    }

    @Test
    void aTcpProxyRelaysToEachEndpointOverItsOwnTransport() throws Exception {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 60 && seen.size() < 2; i++) {   // tcp_proxy picks at random: both within 60 tries
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), tcpPort)) {
                s.setSoTimeout(10_000);
                seen.add(new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
                        .readLine());
            }
        }
        assertEquals(Set.of("mesh " + GATEWAY_ID, "plain"), seen);
    }

    @Test
    void theAdminViewNamesEachEndpointsTransport() throws Exception {
        JsonObject clusters = new JsonObject(Run.run(List.of("curl", "-s", "-m", "5",
                "http://127.0.0.1:" + gw.gateway.adminPort() + "/clusters"), null));
        Map<String, String> byAddress = new java.util.TreeMap<>();
        clusters.getJsonObject("mixed").getJsonArray("endpoints").stream().map(JsonObject.class::cast)
                .forEach(e -> byAddress.put(e.getString("address"), e.getString("transport_socket") + " tls="
                        + e.getBoolean("tls")));
        assertEquals(Map.of("127.0.0.1:" + meshPort, "tlsMode-istio tls=true",
                "127.0.0.1:" + plainPort, "tlsMode-disabled tls=false"), byAddress);
    }

    @Test
    void aMatchWithATransportTheProxyCannotServeIsNackedAndTheLastGoodConfigStays() throws Exception {
        Cluster alts = Xds.edsCluster("alts").toBuilder().addTransportSocketMatches(Cluster.TransportSocketMatch
                .newBuilder().setName("alts").setMatch(ISTIO).setTransportSocket(TransportSocket.newBuilder()
                        .setName("envoy.transport_sockets.alts").setTypedConfig(Any.pack(Struct.getDefaultInstance()))))
                .build();
        List<Cluster> bad = new java.util.ArrayList<>(clusters);
        bad.add(alts);
        int before = pilot.nacks().size();
        pilot.set(bad, assignments, listeners, routes, List.of());
        await().atMost(Duration.ofSeconds(10)).until(() -> pilot.nacks().size() > before);
        String reason = pilot.nacks().get(pilot.nacks().size() - 1).getErrorDetail().getMessage();
        assertTrue(reason.contains("cluster alts: transport_socket_matches[0] (alts): unsupported transport socket "
                + "type.googleapis.com/google.protobuf.Struct"), reason);
        assertEquals("mesh " + GATEWAY_ID + " 200", answers("/fast", 2).stream().filter(a -> a.startsWith("mesh"))
                .findFirst().orElse("none"));
        pilot.set(clusters, assignments, listeners, routes, List.of());
    }
}
