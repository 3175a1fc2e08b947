package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol;
import io.mesh.testing.FreePorts;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A TLS filter chain's tls_params (what pilot writes for a Gateway server's minProtocolVersion, maxProtocolVersion and
 * cipherSuites), per chain on one port, picked by SNI as Envoy does (HTTPS, and a TCP server that terminates TLS): versions outside the chain's range and TLS 1.2
 * suites it does not list fail the handshake, TLS 1.3 stays available whatever cipher_suites lists, and what the
 * proxy cannot serve is NACKed with the reason, the last good listener kept. Client: openssl s_client. Run once per TLS
 * engine: {@link TlsParamsTest} (BoringSSL), {@link TlsParamsJdkEngineTest} (the JDK's).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TlsParamsTermination {

    final RouterFixture mesh = new RouterFixture();
    ControlPlane pilot;
    Backend web;
    int https;
    /** A TCP server (tcp_proxy) that terminates TLS for legacy.example with the legacy chain's tls_params. */
    int tcp;
    List<Secret> secrets;

    /** The gateway's settings for this engine (none: the default). */
    abstract Map<String, String> engineSettings();

    @BeforeAll
    void start() throws Exception {
        TlsTermination.dir = Files.createTempDirectory("gateway-tls-params");
        web = mesh.backend("web");
        pilot = mesh.pilot();
        https = FreePorts.next();
        tcp = FreePorts.next();
        secrets = new ArrayList<>();
        for (String host : List.of("modern.example", "legacy.example", "ciphers.example", "plain.example")) {
            String[] c = TlsTermination.cert(host);   // ECDSA P-256: the ECDHE-ECDSA suites
            secrets.add(Xds.secret("cert-" + host, c[0], c[1]));
        }
        publish(List.of());
        mesh.startGateway(engineSettings());
        await().atMost(Duration.ofSeconds(20)).until(() -> handshake("plain.example").contains("CN"));
    }

    @AfterAll
    void stop() throws Exception {
        mesh.close();
    }

    private static TlsParameters min13() {
        return TlsParameters.newBuilder().setTlsMinimumProtocolVersion(TlsProtocol.TLSv1_3).build();
    }

    private static TlsParameters max12WithOneSuite() {
        return TlsParameters.newBuilder().setTlsMaximumProtocolVersion(TlsProtocol.TLSv1_2)
                .addCipherSuites("ECDHE-ECDSA-AES256-GCM-SHA384").build();
    }

    private static TlsParameters oneSuite() {
        return TlsParameters.newBuilder().addCipherSuites("ECDHE-ECDSA-CHACHA20-POLY1305").build();
    }

    /** The listener of four chains; {@code broken} replaces the legacy chain's params when not empty. */
    String publish(List<TlsParameters> broken) {
        Listener l = Xds.httpsListener("0.0.0.0_443", https, List.of(new String[] {"modern.example", "cert-modern.example", "r"},
                new String[] {"legacy.example", "cert-legacy.example", "r"},
                new String[] {"ciphers.example", "cert-ciphers.example", "r"},
                new String[] {"plain.example", "cert-plain.example", "r"}));
        List<TlsParameters> params = new ArrayList<>(List.of(min13(), broken.isEmpty() ? max12WithOneSuite() : broken.get(0),
                oneSuite()));
        Listener.Builder b = l.toBuilder();
        for (int i = 0; i < params.size(); i++) {
            var chain = b.getFilterChainsBuilder(i);
            var ts = chain.getTransportSocketBuilder();
            try {
                DownstreamTlsContext tls = ts.getTypedConfig().unpack(DownstreamTlsContext.class);
                tls = tls.toBuilder().setCommonTlsContext(tls.getCommonTlsContext().toBuilder().setTlsParams(params.get(i)))
                        .build();
                ts.setTypedConfig(com.google.protobuf.Any.pack(tls));
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new IllegalStateException(e);
            }
        }
        DownstreamTlsContext tcpTls = DownstreamTlsContext.newBuilder().setCommonTlsContext(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.newBuilder()
                        .addTlsCertificateSdsSecretConfigs(ServerCertificateChoice.sds("cert-legacy.example"))
                        .setTlsParams(max12WithOneSuite())).build();
        return pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(b.build(), GatewayTlsServersTest.tcp("tcp-legacy", tcp, "legacy.example", tcpTls)),
                List.of(Xds.routes("r", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), secrets);
    }

    String handshake(String sni, String... extra) throws Exception {
        return handshake(https, sni, extra);
    }

    static String handshake(int port, String sni, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", sni));
        cmd.addAll(List.of(extra));
        return Run.run(cmd, "");
    }

    private static boolean done(String out) {
        return out.contains("BEGIN CERTIFICATE") || out.contains("Server certificate");
    }

    private static String negotiated(String out, String what) {
        return out.lines().map(String::trim).filter(s -> s.startsWith(what)).findFirst().orElse(what + " none in: " + out);
    }

    @Test
    void aChainWithMinimumTls13RefusesTls12AndServesTls13() throws Exception {
        assertFalse(done(handshake("modern.example", "-tls1_2")), "TLS 1.2 to a TLSv1_3 minimum");
        String v13 = handshake("modern.example", "-tls1_3");
        assertTrue(done(v13), v13);
        assertTrue(v13.contains("TLSv1.3"), v13);
        // a client without SNI gets the first chain, this one, with its settings
        List<String> noSni = List.of("openssl", "s_client", "-connect", "127.0.0.1:" + https, "-noservername");
        assertFalse(done(Run.run(concat(noSni, "-tls1_2"), "")), "TLS 1.2 without SNI to the first chain's TLSv1_3");
        String v13NoSni = Run.run(concat(noSni, "-tls1_3"), "");
        assertTrue(done(v13NoSni) && (v13NoSni.contains("CN=modern.example") || v13NoSni.contains("CN = modern.example")),
                v13NoSni);
    }

    private static List<String> concat(List<String> cmd, String... more) {
        List<String> all = new ArrayList<>(cmd);
        all.addAll(List.of(more));
        return all;
    }

    @Test
    void aChainWithMaximumTls12RefusesTls13AndServesOnlyItsListedSuite() throws Exception {
        assertFalse(done(handshake("legacy.example", "-tls1_3")), "TLS 1.3 to a TLSv1_2 maximum");
        String listed = handshake("legacy.example", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384");
        assertTrue(done(listed), listed);
        assertEquals("Cipher    : ECDHE-ECDSA-AES256-GCM-SHA384", negotiated(listed, "Cipher    :"));
        assertFalse(done(handshake("legacy.example", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")),
                "a suite the chain does not list");
        String any = handshake("legacy.example");
        assertTrue(any.contains("ECDHE-ECDSA-AES256-GCM-SHA384") && any.contains("TLSv1.2"), any);
    }

    @Test
    void aTcpServerThatTerminatesTlsAppliesItsChainsVersionsAndSuites() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> done(handshake(tcp, "legacy.example", "-tls1_2")));
        assertFalse(done(handshake(tcp, "legacy.example", "-tls1_3")), "TLS 1.3 to a TLSv1_2 maximum");
        String listed = handshake(tcp, "legacy.example", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384");
        assertTrue(done(listed), listed);
        assertFalse(done(handshake(tcp, "legacy.example", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")),
                "a suite the chain does not list");
    }

    @Test
    void cipherSuitesLeaveTls13AvailableAsInEnvoy() throws Exception {
        String v13 = handshake("ciphers.example", "-tls1_3");
        assertTrue(done(v13) && v13.contains("TLSv1.3"), v13);
        assertFalse(done(handshake("ciphers.example", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")),
                "a TLS 1.2 suite the chain does not list");
        assertTrue(done(handshake("ciphers.example", "-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305")));
    }

    @Test
    void aChainWithoutTlsParamsServesTls12And13WithAnySuite() throws Exception {
        assertTrue(done(handshake("plain.example", "-tls1_3")));
        String v12 = handshake("plain.example", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256");
        assertTrue(done(v12), v12);
    }

    @Test
    void whatCannotBeServedIsNackedWithTheReasonAndTheLastGoodListenerKept() throws Exception {
        List<String[]> cases = List.of(
                new String[] {"unknown cipher suite \"NOT-A-CIPHER\""},
                new String[] {"tls_minimum_protocol_version TLSv1_1: TLS below 1.2 is not served"},
                new String[] {"tls_minimum_protocol_version TLSv1_3 is above tls_maximum_protocol_version TLSv1_2"});
        List<TlsParameters> bad = List.of(TlsParameters.newBuilder().addCipherSuites("ECDHE-ECDSA-AES256-GCM-SHA384")
                        .addCipherSuites("NOT-A-CIPHER").build(),
                TlsParameters.newBuilder().setTlsMinimumProtocolVersion(TlsProtocol.TLSv1_1).build(),
                TlsParameters.newBuilder().setTlsMinimumProtocolVersion(TlsProtocol.TLSv1_3)
                        .setTlsMaximumProtocolVersion(TlsProtocol.TLSv1_2).build());
        try {
            for (int i = 0; i < bad.size(); i++) {
                int before = pilot.nacks().size();
                publish(List.of(bad.get(i)));
                String expected = cases.get(i)[0];
                // a NACK of this version (an earlier one may be NACKed again as other resources are pushed)
                await().atMost(Duration.ofSeconds(10)).until(() -> pilot.nacks().stream().skip(before)
                        .anyMatch(n -> n.getErrorDetail().getMessage().contains(expected)));
                String detail = pilot.nacks().stream().skip(before).map(n -> n.getErrorDetail().getMessage())
                        .filter(m -> m.contains(expected)).findFirst().orElseThrow();
                assertTrue(detail.contains("listener 0.0.0.0_443 filter chain #1: tls_params"), detail);
                // the last good listener: the legacy chain still refuses TLS 1.3 and serves its suite
                assertFalse(done(handshake("legacy.example", "-tls1_3")));
                assertTrue(done(handshake("legacy.example", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")));
            }
        } finally {
            String v = publish(List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> pilot.listenersAcked(v));
        }
    }
}
