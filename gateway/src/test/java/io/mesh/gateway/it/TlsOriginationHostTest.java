package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.mesh.testing.FreePorts;
import io.vertx.core.http.HttpServerOptions;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * TLS origination as istiod configures it for a DestinationRule's SIMPLE TLS to an external host: with
 * {@code auto_sni} each request's SNI is its Host, with {@code auto_san_validation} the upstream's certificate must be
 * valid for that Host, the system roots are istiod's SDS name {@code file-root:system} (the proxy's own, never asked
 * of pilot), and an empty validation context ({@code insecureSkipVerify}) verifies nothing. The upstream is a TLS
 * server with a self-signed certificate for backend.local that answers with the SNI it got; curl sends the Host.
 */
class TlsOriginationHostTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static Process sServer;
    static java.nio.file.Path sServerOut;

    @org.junit.jupiter.api.AfterAll
    static void stopSServer() {
        if (sServer != null) {
            sServer.destroy();
        }
    }

    @BeforeAll
    static void start() throws Exception {
        TlsTermination.dir = Files.createTempDirectory("tls-origination");
        String[] server = TlsTermination.cert("backend.local");
        int tlsPort = FreePorts.next();
        MESH.vertx().createHttpServer(new HttpServerOptions().setPort(tlsPort).setHost("127.0.0.1").setSsl(true)
                        .setSni(true).setKeyCertOptions(UpstreamTlsTest.keyCert(server)))
                .requestHandler(r -> {
                    if ("websocket".equalsIgnoreCase(r.getHeader("upgrade"))) {
                        // Taken here, not by a webSocketHandler: Quarkus tests in this JVM set vertx.disableWebsockets.
                        String sni = r.connection().indicatedServerName();
                        r.toWebSocket().onSuccess(ws -> ws.textMessageHandler(m -> ws.writeTextMessage("echo over "
                                + ws.sslSession().getProtocol() + " to " + sni + ": " + m)));
                    } else {
                        r.response().end("sni " + r.connection().indicatedServerName());
                    }
                })
                .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        // openssl s_server takes any SNI (Vert.x's and the JDK's servers refuse a mesh SNI's underscores): with
        // -tlsextdebug it prints each ClientHello's server name extension, and -servername_fatal refuses another name.
        int openSslPort = FreePorts.next();
        sServerOut = TlsTermination.dir.resolve("s_server.out");
        String crt = TlsTermination.dir.resolve("backend.local.crt").toString();
        String key = TlsTermination.dir.resolve("backend.local.key").toString();
        sServer = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + openSslPort, "-www",
                "-tlsextdebug", "-servername", MESH_SNI, "-servername_fatal", "-cert", crt, "-key", key, "-cert2", crt,
                "-key2", key)
                .redirectErrorStream(true).redirectOutput(sServerOut.toFile()).start();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> {
            try (java.net.Socket probe = new java.net.Socket("127.0.0.1", openSslPort)) {
                return true;
            } catch (java.io.IOException e) {
                return false;
            }
        });
        CertificateValidationContext trusted = CertificateValidationContext.newBuilder()
                .setTrustedCa(DataSource.newBuilder().setInlineString(server[0])).build();
        CommonTlsContext systemRoots = CommonTlsContext.newBuilder().setValidationContextSdsSecretConfig(
                SdsSecretConfig.newBuilder().setName("file-root:system").setSdsConfig(Xds.ADS)).build();
        List<Cluster> clusters = List.of(
                auto(tls("auto", CommonTlsContext.newBuilder().setValidationContext(trusted).build()), true, true),
                tls("ws-tls", CommonTlsContext.newBuilder().setValidationContext(trusted).build()).toBuilder()
                        .setTransportSocket(socket(UpstreamTlsContext.newBuilder().setSni("backend.local")
                                .setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(trusted))
                                .build())).build(),
                auto(tls("auto-sni", CommonTlsContext.newBuilder().setValidationContext(trusted).build()), true, false),
                auto(tls("insecure", CommonTlsContext.newBuilder().setValidationContext(
                        CertificateValidationContext.getDefaultInstance()).build()), true, false),
                tls("insecure-fixed-sni", CommonTlsContext.newBuilder().setValidationContext(
                        CertificateValidationContext.getDefaultInstance()).build()).toBuilder()
                        .setTransportSocket(socket(UpstreamTlsContext.newBuilder().setSni("fixed.local")
                                .setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(
                                        CertificateValidationContext.getDefaultInstance())).build())).build(),
                auto(tls("system", systemRoots), true, true),
                tls("mesh-sni", CommonTlsContext.getDefaultInstance()).toBuilder()
                        .setTransportSocket(socket(UpstreamTlsContext.newBuilder().setSni(MESH_SNI)
                                .setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(
                                        CertificateValidationContext.getDefaultInstance())).build())).build());
        port = FreePorts.next();
        pilot = MESH.pilot();
        pilot.set(clusters, clusters.stream().map(c -> Xds.endpoints(c.getName(),
                        c.getName().equals("mesh-sni") ? openSslPort : tlsPort)).toList(),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/ws-auto", "auto"),
                        Xds.prefixTo("/ws", "ws-tls"),
                        Xds.prefixTo("/auto-sni", "auto-sni"),
                        Xds.prefixTo("/auto", "auto"), Xds.prefixTo("/insecure-fixed-sni", "insecure-fixed-sni"),
                        Xds.prefixTo("/insecure", "insecure"), Xds.prefixTo("/system", "system"),
                        Xds.prefixTo("/mesh-sni", "mesh-sni")))),
                List.of());
        gw = MESH.startGateway(Map.of());
    }

    /** Istio's SNI of a mesh service's port: underscores, which neither Netty nor the JDK sends as they come. */
    static final String MESH_SNI = "outbound_.80_._.web.demo.svc.cluster.local";

    static Cluster tls(String name, CommonTlsContext common) {
        return Xds.edsCluster(name).toBuilder().setTransportSocket(socket(UpstreamTlsContext.newBuilder()
                .setCommonTlsContext(common).build())).build();
    }

    static TransportSocket socket(UpstreamTlsContext ctx) {
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(ctx)).build();
    }

    /** istiod's setAutoSniAndAutoSanValidation: the cluster's upstream HTTP protocol options. */
    static Cluster auto(Cluster c, boolean sni, boolean san) {
        return c.toBuilder().putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                Any.pack(HttpProtocolOptions.newBuilder().setUpstreamHttpProtocolOptions(UpstreamHttpProtocolOptions
                        .newBuilder().setAutoSni(sni).setAutoSanValidation(san)).build())).build();
    }

    static String get(String host, String path) throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "10", "-w", " %{http_code}", "-H", "Host: " + host,
                "http://127.0.0.1:" + port + path), null);
    }

    @Test
    void eachRequestsHostIsItsSniAndTheCertificateMustBeValidForIt() throws Exception {
        assertTrue(pilot.nacks().isEmpty(), () -> "NACKs: " + pilot.nacks());
        assertEquals("sni backend.local 200", get("backend.local", "/auto"));
        assertEquals("sni backend.local 200", get("backend.local:8080", "/auto"), "the Host's port is not the SNI's");
        assertTrue(get("other.local", "/auto").endsWith(" 503"), "a certificate for backend.local, not other.local");
        // Pooled connections are per SNI: the next request for backend.local is not sent over other.local's.
        assertEquals("sni backend.local 200", get("backend.local", "/auto"));
    }

    @Test
    void withoutSanValidationTheHostIsOnlyTheSni() throws Exception {
        assertEquals("sni other.local 200", get("other.local", "/auto-sni"));
        assertEquals("sni backend.local 200", get("backend.local", "/auto-sni"));
        assertEquals("sni null 200", get("127.0.0.1", "/auto-sni"), "an IP address is never sent as SNI");
    }

    @Test
    void anEmptyValidationContextVerifiesNothingOnBothPaths() throws Exception {
        long before = gw.gateway.dataPlane().fastPathRequests();
        assertEquals("sni fixed.local 200", get("anything.local", "/insecure-fixed-sni"));
        assertEquals(before + 1, gw.gateway.dataPlane().fastPathRequests(), "a fixed SNI: the fast path's");
        assertEquals("sni anything.local 200", get("anything.local", "/insecure"));
        assertEquals(before + 1, gw.gateway.dataPlane().fastPathRequests(), "auto SNI: the Vert.x path's");
    }

    @Test
    void theSystemRootsAreTheProxysOwnAndDoNotTrustASelfSignedCertificate() throws Exception {
        assertTrue(pilot.nacks().isEmpty(), () -> "NACKs: " + pilot.nacks());
        assertTrue(get("backend.local", "/system").endsWith(" 503"), "backend.local's certificate is self-signed");
        var tls = gw.gateway.dataPlane().active().upstreams().get("system").spec().tls();
        assertTrue(!tls.unavailable() && tls.verify() && tls.caPem() == null,
                "file-root:system is no secret to wait for from pilot, and means the JVM's roots: " + tls);
    }

    /** How many ClientHellos s_server got with a server name (which -servername_fatal holds to Istio's mesh SNI). */
    static long meshSnisSeen() throws Exception {
        return Files.readAllLines(sServerOut, java.nio.charset.StandardCharsets.ISO_8859_1).stream()
                .filter(l -> l.startsWith("TLS client extension \"server name\"")).count();
    }

    @Test
    void istiosMeshSniIsSentOnBothPaths() throws Exception {
        long before = gw.gateway.dataPlane().fastPathRequests();
        long seen = meshSnisSeen();
        assertTrue(get("web.demo.svc.cluster.local", "/mesh-sni").endsWith(" 200"));
        assertEquals(before + 1, gw.gateway.dataPlane().fastPathRequests(), "HTTP/1.1: the fast path's");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> meshSnisSeen() == seen + 1);
        assertTrue(Run.run(List.of("curl", "-s", "-m", "10", "--http2-prior-knowledge", "-w", " %{http_code}", "-H",
                "Host: web.demo.svc.cluster.local", "http://127.0.0.1:" + port + "/mesh-sni"), null).endsWith(" 200"),
                "h2c: the Vert.x clients'");
        assertEquals(before + 1, gw.gateway.dataPlane().fastPathRequests());
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> meshSnisSeen() == seen + 2);
    }

    @Test
    void aWebSocketUpgradeOriginatesTheClustersTls() throws Exception {
        var ws = MESH.vertx().createWebSocketClient().connect(new io.vertx.core.http.WebSocketConnectOptions()
                .setHost("127.0.0.1").setPort(port).setURI("/ws")).toCompletionStage().toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        var answer = new java.util.concurrent.CompletableFuture<String>();
        ws.textMessageHandler(answer::complete);
        ws.writeTextMessage("hello");
        assertEquals("echo over TLSv1.3 to backend.local: hello", answer.get(10, TimeUnit.SECONDS),
                "the backend is TLS only (a certificate the cluster's CA trusts): the upgrade went over the cluster's TLS,"
                        + " with the cluster's SNI");
        ws.close();
    }

    @Test
    void aWebSocketUpgradeToAnAutoSniClusterSendsItsHostAndChecksTheCertificateAgainstIt() throws Exception {
        assertEquals("HTTP/1.1 101 Switching Protocols", upgradeStatus("backend.local", "/ws-auto"));
        assertTrue(upgradeStatus("other.local", "/ws-auto").startsWith("HTTP/1.1 503"),
                "a certificate for backend.local, not other.local");
        assertEquals("HTTP/1.1 101 Switching Protocols", upgradeStatus("backend.local", "/ws-auto"));
    }

    /** The status line the gateway answers a WebSocket upgrade with. */
    private static String upgradeStatus(String host, String path) throws Exception {
        try (var socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
        }
    }
}
