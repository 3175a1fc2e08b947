package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.grpc.netty.GrpcSslContexts;
import io.mesh.gateway.identity.WorkloadIdentity;
import io.mesh.testing.FreePorts;
import io.netty.handler.ssl.SslContextBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The proxy's own identity from a CA speaking Istio's CreateCertificate: readiness waits for it, ADS runs over
 * mutual TLS with it, and ISTIO_MUTUAL clusters (SDS {@code default} + {@code ROOTCA}, as pilot generates them)
 * present it to an upstream that requires client certificates, whose SPIFFE ID must match. Certificates live
 * six seconds here, so they rotate every three, under open connections.
 */
class IstioMutualTest {

    static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
    static final String BACKEND_ID = "spiffe://cluster.local/ns/demo/sa/backend";

    static Path dir;
    static TestCitadel ca;
    static Vertx vertx;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static String statusBeforeTheCertificate;
    static int adsRequestsBeforeTheCertificate;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("istio-mutual");
        ca = new TestCitadel(Map.of("gateway-token", GATEWAY_ID));
        ca.available = false;
        ca.ttl = Duration.ofSeconds(6);
        Path root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "gateway-token\n");
        vertx = Vertx.vertx();

        TestCitadel.Issued backend = ca.workload(BACKEND_ID);
        int backendPort = FreePorts.next();
        vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(backendPort).setSsl(true)
                .setKeyCertOptions(new PemKeyCertOptions().addCertValue(Buffer.buffer(backend.chainPem()))
                        .addKeyValue(Buffer.buffer(backend.keyPem())))
                .setClientAuth(ClientAuth.REQUIRED)
                .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(TestCitadel.pem(ca.root)))))
                .requestHandler(r -> {
                    if ("websocket".equalsIgnoreCase(r.getHeader("upgrade"))) {
                        // The upgrade is taken here: a Quarkus test earlier in this JVM sets vertx.disableWebsockets,
                        // and Vert.x's servers then give upgrades to the request handler, never a webSocketHandler.
                        r.toWebSocket().onSuccess(ws -> ws.textMessageHandler(m -> ws.writeTextMessage("ws "
                                + spiffeIdOf(ws.sslSession()) + ": " + m)));
                        return;
                    }
                    try {
                        X509Certificate peer = (X509Certificate) r.connection().sslSession().getPeerCertificates()[0];
                        String body = "backend " + WorkloadIdentity.spiffeIdOf(peer).orElse("-") + " "
                                + peer.getSerialNumber().toString(16) + " " + r.remoteAddress().port();
                        if (r.path().endsWith("/close")) {
                            r.response().putHeader("connection", "close").end(body).onComplete(v -> r.connection().close());
                        } else {
                            r.response().end(body);
                        }
                    } catch (Exception e) {
                        r.response().setStatusCode(500).end(e.toString());
                    }
                }).listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

        // pilot's 15012: a citadel-issued certificate naming no host, only a control-plane SPIFFE ID; client certs required.
        TestCitadel.Issued pilotCert = ca.workload("spiffe://cluster.local/ns/istio-system/sa/istio-pilot");
        pilot = new ControlPlane(GrpcSslContexts.configure(SslContextBuilder.forServer(pilotCert.keys().getPrivate(),
                pilotCert.cert(), ca.root)).trustManager(ca.root).clientAuth(io.netty.handler.ssl.ClientAuth.REQUIRE).build());
        port = FreePorts.next();
        pilot.set(List.of(istioMutual("mutual", BACKEND_ID), istioMutual("wrong", "spiffe://cluster.local/ns/demo/sa/other"),
                        istioMutual("any")),
                List.of(Xds.endpoints("mutual", backendPort), Xds.endpoints("wrong", backendPort), Xds.endpoints("any", backendPort)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/wrong", "wrong"),
                        Xds.prefixTo("/any", "any"), Xds.prefixTo("/mutual", "mutual")))),
                List.of());
        gw = TestGateway.withXds(pilot, Map.of("mesh.gateway.ca.address", ca.address(),
                "mesh.gateway.ca.token-file", token.toString(), "mesh.gateway.ca.root-cert-file", root.toString(),
                "mesh.gateway.xds.tls", "true", "mesh.gateway.listeners.event-loops", "1"));
        // While citadel refuses, there is no identity: not ready, and no ADS stream to pilot's TLS port.
        await().atMost(Duration.ofSeconds(10)).until(() -> ca.refused.get() >= 2);
        statusBeforeTheCertificate = status();
        adsRequestsBeforeTheCertificate = pilot.requests.size();
        ca.available = true;
        await().atMost(Duration.ofSeconds(30)).until(gw::ready);
    }

    @AfterAll
    static void stop() throws Exception {
        gw.close();
        pilot.close();
        ca.close();
        vertx.close();
    }

    /** A cluster as pilot generates for ISTIO_MUTUAL: SDS {@code default}, combined validation with {@code ROOTCA}. */
    static Cluster istioMutual(String name, String... sans) {
        CertificateValidationContext.Builder validation = CertificateValidationContext.newBuilder();
        for (String san : sans) {
            validation.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(san));
        }
        CommonTlsContext common = CommonTlsContext.newBuilder()
                .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default").setSdsConfig(Xds.ADS))
                .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(validation)
                        .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName("ROOTCA").setSdsConfig(Xds.ADS)))
                .addAlpnProtocols("istio-peer-exchange").addAlpnProtocols("istio").build();
        return Xds.edsCluster(name).toBuilder().setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setSni("outbound_.80_._.backend.demo.svc.cluster.local")
                        .setCommonTlsContext(common).build()))).build();
    }

    static String get(String path) throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "10", "-w", " %{http_code}", "http://127.0.0.1:" + port + path), null);
    }

    static String status() throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "5", "-w", " %{http_code}",
                "http://127.0.0.1:" + gw.gateway.statusPort() + "/healthz/ready"), null);
    }

    static WorkloadIdentity identity() {
        return gw.gateway.identity().orElseThrow();
    }

    static String serial() {
        return identity().current().orElseThrow().leaf().getSerialNumber().toString(16);
    }

    @Test
    void readinessAndTheAdsStreamWaitForTheFirstCertificate() throws Exception {
        assertEquals("workload certificate not yet issued\n 503", statusBeforeTheCertificate);
        assertEquals(0, adsRequestsBeforeTheCertificate);
        assertEquals("ready\n 200", status());
        // pilot requires a client certificate from the mesh root: the stream exists, so the proxy presented one.
        assertFalse(pilot.requests.isEmpty());
        assertTrue(pilot.nacks().isEmpty(), () -> "NACKs: " + pilot.nacks());
    }

    @Test
    void theIdentityIsCitadelsAnswerAndVerifiesWithOpenssl() throws Exception {
        assertEquals(Optional.of(GATEWAY_ID), identity().spiffeId());
        List<X509Certificate> chain = identity().current().orElseThrow().chain();
        assertEquals(2, chain.size());
        Path leaf = Files.writeString(dir.resolve("leaf.pem"), TestCitadel.pem(chain.get(0)));
        Path root = Files.writeString(dir.resolve("root.pem"), TestCitadel.pem(chain.get(1)));
        String verify = Run.run(List.of("openssl", "verify", "-CAfile", root.toString(), leaf.toString()), null);
        assertEquals(leaf + ": OK\n", verify);
        assertTrue(identity().meshRoots().contains(ca.root));
    }

    @Test
    void aTokenCitadelDoesNotAcceptGivesNoIdentity() throws Exception {
        Path wrong = Files.writeString(dir.resolve("wrong-token"), "not-a-token\n");
        int refused = ca.refused.get();
        try (WorkloadIdentity other = new WorkloadIdentity(ca.address(), Optional.of(wrong), dir.resolve("root-cert.pem"),
                "cluster.local").start()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> ca.refused.get() > refused);
            assertFalse(other.isReady());
            assertEquals(Optional.empty(), other.current());
        }
    }

    @Test
    void istioMutualPresentsTheWorkloadCertificateToAnUpstreamWithTheExpectedSpiffeId() throws Exception {
        long fast = gw.gateway.dataPlane().fastPathRequests();
        String mutual = get("/mutual");
        assertEquals(fast + 1, gw.gateway.dataPlane().fastPathRequests(), "the fast path originated the mesh mTLS");
        assertTrue(mutual.startsWith("backend " + GATEWAY_ID + " ") && mutual.endsWith(" 200"), mutual);
        String any = get("/any");
        assertTrue(any.startsWith("backend " + GATEWAY_ID + " ") && any.endsWith(" 200"), any);
    }

    @Test
    void theSourcesMetricsNameTheUpstreamsVerifiedIdentityAsDestinationPrincipalOnBothPaths() throws Exception {
        double before = toBackend();
        long fast = gw.gateway.dataPlane().fastPathRequests();
        assertTrue(get("/mutual").endsWith(" 200"));
        assertEquals(fast + 1, gw.gateway.dataPlane().fastPathRequests());
        // HTTP/1.0 is the Vert.x path's (the fast path takes HTTP/1.1 only).
        String old = Run.run(List.of("curl", "-s", "-m", "10", "--http1.0", "-w", " %{http_code}",
                "http://127.0.0.1:" + port + "/mutual"), null);
        assertTrue(old.endsWith(" 200"), old);
        assertEquals(fast + 1, gw.gateway.dataPlane().fastPathRequests(), "the Vert.x path served the HTTP/1.0 request");
        await().atMost(Duration.ofSeconds(5)).until(() -> toBackend() == before + 2);
    }

    /** Requests the gateway reported (as the source) to the upstream whose certificate says BACKEND_ID. */
    static double toBackend() {
        return gw.registry.find("istio_requests").tag("reporter", "source").tag("destination_principal", BACKEND_ID)
                .counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
    }

    @Test
    void anUpstreamWithAnotherSpiffeIdIsRefusedWith503Uf() throws Exception {
        String wrong = get("/wrong");
        assertTrue(wrong.endsWith(" 503"), wrong);
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.registry.find("istio_requests")
                .tag("response_flags", "UF").tag("response_code", "503").counter() != null);
    }

    @Test
    void rotationKeepsOpenConnectionsAndNewOnesUseTheNewCertificate() throws Exception {
        String[] first = get("/mutual").split(" ");   // backend <id> <serial> <port> <code>
        assertEquals("200", first[4]);
        String used = first[2];
        await().atMost(Duration.ofSeconds(10)).until(() -> !serial().equals(used));
        String[] again = get("/mutual").split(" ");
        assertEquals(List.of(used, first[3], "200"), List.of(again[2], again[3], again[4]),
                "the pooled connection survives the rotation with its certificate");
        String[] closing = get("/mutual/close").split(" ");
        assertEquals(first[3], closing[3]);
        String[] fresh = get("/mutual").split(" ");
        assertEquals("200", fresh[4]);
        assertNotEquals(first[3], fresh[3], "a new connection");
        assertNotEquals(used, fresh[2], "the new connection presents a renewed certificate");
        assertEquals(GATEWAY_ID, fresh[1]);
    }

    @Test
    void xdsTlsIsOnForPilotsTlsPortUnlessSaidOtherwise() {
        assertTrue(TestGateway.config(Map.of("mesh.gateway.xds.address", "pilot.istio-system.svc:15012")).xds().useTls());
        assertFalse(TestGateway.config(Map.of("mesh.gateway.xds.address", "pilot.istio-system.svc:15010")).xds().useTls());
        assertFalse(TestGateway.config(Map.of("mesh.gateway.xds.address", "127.0.0.1:15012", "mesh.gateway.xds.tls", "false"))
                .xds().useTls());
        var bad = TestGateway.config(Map.of("mesh.gateway.xds.tls", "yes"));
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> bad.xds().useTls());
        assertEquals("mesh.gateway.xds.tls must be auto, true or false, not 'yes'", e.getMessage());
    }

    @Test
    void pilotsTlsPortWithoutACaIsAClearStartupError() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                () -> new TestGateway(Map.of("mesh.gateway.xds.address", "127.0.0.1:15012")));
        assertTrue(e.getCause().getMessage().contains("needs a workload certificate: set mesh.gateway.ca.address"),
                e.getCause().getMessage());
    }

    /**
     * The same identity on the server side, as the sidecar's inbound listener uses it: openssl, holding a mesh
     * client certificate, verifies the served chain against the root, and the server sees the client's SPIFFE ID;
     * without a client certificate the handshake is refused.
     */
    @Test
    void theIdentityServesTlsAndRequiresMeshClientCertificates() throws Exception {
        int serverPort = FreePorts.next();
        var server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(serverPort).setSsl(true)
                .setKeyCertOptions(identity().keyCertOptions()).setTrustOptions(identity().trustOptions())
                .setClientAuth(ClientAuth.REQUIRED))
                .requestHandler(r -> {
                    try {
                        r.response().end("peer " + WorkloadIdentity.spiffeIdOf(
                                (X509Certificate) r.connection().sslSession().getPeerCertificates()[0]).orElse("-") + "\n");
                    } catch (Exception e) {
                        r.response().setStatusCode(500).end(e.toString());
                    }
                }).listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try {
            TestCitadel.Issued client = ca.workload("spiffe://cluster.local/ns/demo/sa/client");
            Path cert = Files.writeString(dir.resolve("client.pem"), client.chainPem());
            Path key = Files.writeString(dir.resolve("client.key"), client.keyPem());
            Path root = ca.writeRoot(dir);
            String request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            String out = Run.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + serverPort, "-CAfile", root.toString(),
                    "-verify_return_error", "-cert", cert.toString(), "-key", key.toString(), "-ign_eof"), request);
            assertTrue(out.contains("Verify return code: 0 (ok)"), out);
            assertTrue(out.contains("peer spiffe://cluster.local/ns/demo/sa/client"), out);
            String anonymous = Run.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + serverPort, "-CAfile",
                    root.toString(), "-ign_eof"), request);
            assertFalse(anonymous.contains("peer "), anonymous);
        } finally {
            server.close();
        }
    }

    @Test
    void aWebSocketUpgradeGoesOverMeshMutualTlsWithTheProxysIdentity() throws Exception {
        var ws = vertx.createWebSocketClient().connect(new io.vertx.core.http.WebSocketConnectOptions()
                .setHost("127.0.0.1").setPort(port).setURI("/mutual/ws")).toCompletionStage().toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        var answer = new java.util.concurrent.CompletableFuture<String>();
        ws.textMessageHandler(answer::complete);
        ws.writeTextMessage("hello");
        assertEquals("ws " + GATEWAY_ID + ": hello", answer.get(10, TimeUnit.SECONDS),
                "the backend requires a mesh client certificate: the upgrade presented the proxy's");
        ws.close();
    }

    /** The SPIFFE ID of a TLS session's peer, or the reason there is none. */
    private static String spiffeIdOf(javax.net.ssl.SSLSession session) {
        try {
            return WorkloadIdentity.spiffeIdOf((X509Certificate) session.getPeerCertificates()[0]).orElse("-");
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            return e.toString();
        }
    }
}
