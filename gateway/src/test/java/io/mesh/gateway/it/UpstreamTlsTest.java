package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** TLS origination: a cluster with an inline trusted CA, and mutual TLS with an inline client certificate. */
class UpstreamTlsTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Vertx vertx;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static int tlsPort;
    static int mtlsPort;
    static String[] server;
    static String[] client;
    static String[] stranger;

    @BeforeAll
    static void start() throws Exception {
        TlsTest.dir = Files.createTempDirectory("upstream-tls");
        server = TlsTest.cert("backend.local");
        client = TlsTest.cert("gateway.client");
        stranger = TlsTest.cert("stranger.local");
        vertx = MESH.vertx();
        tlsPort = FreePorts.next();
        mtlsPort = FreePorts.next();
        listen(new HttpServerOptions().setPort(tlsPort).setHost("127.0.0.1").setSsl(true).setSni(true)
                .setKeyCertOptions(keyCert(server)), "tls");
        listen(new HttpServerOptions().setPort(mtlsPort).setHost("127.0.0.1").setSsl(true).setKeyCertOptions(keyCert(server))
                .setClientAuth(ClientAuth.REQUIRED).setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(client[0]))),
                "mtls");
        pilot = MESH.pilot();
        port = FreePorts.next();
        pilot.set(List.of(tls("tls", server[0], null), tls("mtls", server[0], client), tls("wrong-ca", stranger[0], null),
                        tls("no-client-cert", server[0], null), sdsTls("sds-tls", "kubernetes://backend-cacert", null),
                        sdsTls("istio-mutual", "ROOTCA", "default"), san(tls("san-ok", server[0], null), "backend.local"),
                        san(tls("san-wrong", server[0], null), "spiffe://cluster.local/ns/demo/sa/other"),
                        tls("sni", server[0], null)),
                List.of(Xds.endpoints("tls", tlsPort), Xds.endpoints("mtls", mtlsPort), Xds.endpoints("wrong-ca", tlsPort),
                        Xds.endpoints("no-client-cert", mtlsPort), Xds.endpoints("sds-tls", tlsPort),
                        Xds.endpoints("istio-mutual", mtlsPort), Xds.endpoints("san-ok", tlsPort),
                        Xds.endpoints("san-wrong", tlsPort), Xds.endpoints("sni", tlsPort)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/tls", "tls"),
                        Xds.prefixTo("/mtls", "mtls"), Xds.prefixTo("/wrong-ca", "wrong-ca"),
                        Xds.prefixTo("/no-client-cert", "no-client-cert"), Xds.prefixTo("/sds-tls", "sds-tls"),
                        Xds.prefixTo("/istio-mutual", "istio-mutual"), Xds.prefixTo("/san-ok", "san-ok"),
                        Xds.prefixTo("/san-wrong", "san-wrong"), Xds.prefixTo("/sni", "sni")))),
                List.of(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.newBuilder()
                        .setName("kubernetes://backend-cacert").setValidationContext(CertificateValidationContext.newBuilder()
                                .setTrustedCa(DataSource.newBuilder().setInlineString(server[0]))).build()));
        gw = MESH.startGateway(Map.of());
    }

    static PemKeyCertOptions keyCert(String[] pem) {
        return new PemKeyCertOptions().addCertValue(Buffer.buffer(pem[0])).addKeyValue(Buffer.buffer(pem[1]));
    }

    static void listen(HttpServerOptions o, String name) throws Exception {
        HttpServer s = vertx.createHttpServer(o).requestHandler(r -> r.response().end(r.path().startsWith("/sni")
                ? "sni " + r.connection().indicatedServerName() : name + " " + r.isSSL()));
        s.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static Cluster tls(String name, String caPem, String[] clientCert) {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder().setValidationContext(CertificateValidationContext
                .newBuilder().setTrustedCa(DataSource.newBuilder().setInlineString(caPem)));
        if (clientCert != null) {
            common.addTlsCertificates(TlsCertificate.newBuilder()
                    .setCertificateChain(DataSource.newBuilder().setInlineString(clientCert[0]))
                    .setPrivateKey(DataSource.newBuilder().setInlineString(clientCert[1])));
        }
        return Xds.edsCluster(name).toBuilder().setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setSni("backend.local").setCommonTlsContext(common).build())))
                .build();
    }

    /** TLS whose CA (and client certificate) come from SDS by name, as pilot generates for DestinationRules. */
    static Cluster sdsTls(String name, String caSecret, String certSecret) {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder().setValidationContextSdsSecretConfig(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig.newBuilder().setName(caSecret)
                        .setSdsConfig(Xds.ADS));
        if (certSecret != null) {
            common.addTlsCertificateSdsSecretConfigs(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig
                    .newBuilder().setName(certSecret).setSdsConfig(Xds.ADS));
        }
        return Xds.edsCluster(name).toBuilder().setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setSni("backend.local").setCommonTlsContext(common).build())))
                .build();
    }

    /** Adds match_subject_alt_names (exact) to a TLS cluster's validation context. */
    static Cluster san(Cluster c, String expected) throws Exception {
        UpstreamTlsContext ctx = c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        CommonTlsContext common = ctx.getCommonTlsContext().toBuilder().setValidationContext(ctx.getCommonTlsContext()
                .getValidationContext().toBuilder().addMatchSubjectAltNames(
                        io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact(expected))).build();
        return c.toBuilder().setTransportSocket(c.getTransportSocket().toBuilder().setTypedConfig(
                Any.pack(ctx.toBuilder().setCommonTlsContext(common).build()))).build();
    }

    @Test
    void theClustersSniIsSentToTheUpstream() throws Exception {
        assertEquals("sni backend.local 200", get("/sni"));
    }

    @Test
    void theUpstreamMustCarryAnExpectedSubjectAltName() throws Exception {
        assertEquals("tls true 200", get("/san-ok"));
        assertEquals(true, get("/san-wrong").endsWith(" 503"));
    }

    @Test
    void theFastPathOriginatesTheClustersTlsWithItsSniClientCertificateAndSanCheck() throws Exception {
        long before = gw.gateway.dataPlane().fastPathRequests();
        assertEquals("mtls true 200", get("/mtls"));
        assertEquals("sni backend.local 200", get("/sni"));
        assertEquals(true, get("/san-wrong").endsWith(" 503"));
        assertEquals(before + 3, gw.gateway.dataPlane().fastPathRequests(), "the fast path took the three requests");
    }

    static String get(String path) throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "10", "-w", " %{http_code}", "http://127.0.0.1:" + port + path), null);
    }

    @Test
    void tlsOriginationTrustsTheClustersCa() throws Exception {
        assertEquals("tls true 200", get("/tls"));
    }

    @Test
    void mutualTlsPresentsTheClientCertificate() throws Exception {
        assertEquals("mtls true 200", get("/mtls"));
    }

    @Test
    void aCaFromAnSdsValidationContextSecretIsTrusted() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> get("/sds-tls").equals("tls true 200"));
    }

    @Test
    void istioMutualWithoutAWorkloadCertificateIsAcceptedAndAnswers503() throws Exception {
        assertEquals(true, pilot.nacks().isEmpty(), () -> "NACKs: " + pilot.nacks());
        assertEquals(true, get("/istio-mutual").endsWith(" 503"));
    }

    @Test
    void anUntrustedUpstreamOrAMissingClientCertificateFailsWith503() throws Exception {
        assertEquals(true, get("/wrong-ca").endsWith(" 503"));
        assertEquals(true, get("/no-client-cert").endsWith(" 503"));
    }
}
