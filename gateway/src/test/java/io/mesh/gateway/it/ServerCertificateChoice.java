package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.mesh.testing.FreePorts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A server with two certificates for one name (Istio's credentialNames, as pilot writes them: an RSA one listed first,
 * then an ECDSA one) presents the ECDSA one to clients that can verify it and the RSA one to the others, as Envoy
 * does: over TLS 1.3 by their signature algorithms, over TLS 1.2 also by their cipher suites (an HTTPS server, and a TCP
 * server that terminates TLS); and a MUTUAL server's pins (verify_certificate_spki, verify_certificate_hash) let in only the pinned client
 * certificates its CA signed. Clients: openssl s_client limited with -sigalgs and -cipher, and curl; the pins are
 * computed by openssl. Run once per TLS engine: {@link ServerCertificateChoiceTest} (BoringSSL),
 * {@link ServerCertificateChoiceJdkEngineTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ServerCertificateChoice {

    final RouterFixture mesh = new RouterFixture();
    Path dir;
    int dual;
    int pinned;
    /** A TCP server (tcp_proxy) that terminates TLS, with the same two certificates. */
    int tcpDual;

    abstract Map<String, String> engineSettings();

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("gateway-cert-choice");
        String[] rsa = selfSigned("shop-rsa", "rsa", "rsa_keygen_bits:2048");
        String[] ecdsa = selfSigned("shop-ecdsa", "ec", "ec_paramgen_curve:prime256v1");
        selfSigned("clients-ca", "ec", "ec_paramgen_curve:prime256v1");
        signed("alice");   // pinned by its SPKI
        signed("bob");     // pinned by its certificate's hash
        signed("carol");   // signed by the CA, not pinned
        selfSigned("mallory", "ec", "ec_paramgen_curve:prime256v1");   // pinned, but no CA signed it
        Backend web = mesh.backend("web");
        ControlPlane pilot = mesh.pilot();
        dual = FreePorts.next();
        pinned = FreePorts.next();
        tcpDual = FreePorts.next();
        CommonTlsContext.Builder two = CommonTlsContext.newBuilder().addAlpnProtocols("http/1.1")
                .addTlsCertificateSdsSecretConfigs(sds("kubernetes://shop-rsa"))
                .addTlsCertificateSdsSecretConfigs(sds("kubernetes://shop-ecdsa"));
        CertificateValidationContext pins = CertificateValidationContext.newBuilder()
                .addVerifyCertificateSpki(spki("alice")).addVerifyCertificateSpki(spki("mallory"))
                .addVerifyCertificateHash(hash("bob")).build();
        CommonTlsContext.Builder mutual = two.clone().setCombinedValidationContext(
                CommonTlsContext.CombinedCertificateValidationContext.newBuilder().setDefaultValidationContext(pins)
                        .setValidationContextSdsSecretConfig(sds("kubernetes://shop-rsa-cacert")));
        pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(listener("dual", dual, DownstreamTlsContext.newBuilder().setCommonTlsContext(two).build()),
                        listener("pinned", pinned, DownstreamTlsContext.newBuilder().setCommonTlsContext(mutual)
                                .setRequireClientCertificate(BoolValue.of(true)).build()),
                        GatewayTlsServersTest.tcp("tcp-dual", tcpDual, "shop.example",
                                DownstreamTlsContext.newBuilder().setCommonTlsContext(two).build())),
                List.of(Xds.routes("https.443", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))),
                List.of(Xds.secret("kubernetes://shop-rsa", rsa[0], rsa[1]),
                        Xds.secret("kubernetes://shop-ecdsa", ecdsa[0], ecdsa[1]), Secret.newBuilder()
                                .setName("kubernetes://shop-rsa-cacert").setValidationContext(CertificateValidationContext
                                        .newBuilder().setTrustedCa(DataSource.newBuilder().setInlineString(
                                                Files.readString(dir.resolve("clients-ca.crt"))))).build()));
        mesh.startGateway(engineSettings());
    }

    @AfterAll
    void stop() throws Exception {
        mesh.close();
    }

    static SdsSecretConfig sds(String name) {
        return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(Xds.ADS).build();
    }

    /** An HTTPS listener of one chain for shop.example with this TLS. */
    static Listener listener(String name, int port, DownstreamTlsContext tls) {
        Listener l = Xds.httpsListener(name, port, List.<String[]>of(new String[] {"shop.example", "unused", "https.443"}));
        return l.toBuilder().setFilterChains(0, l.getFilterChains(0).toBuilder().setTransportSocket(TransportSocket
                .newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)))).build();
    }

    /** A self-signed certificate NAME.crt (CN=NAME, DNS shop.example) and key NAME.key; returns {cert, key} PEM. */
    String[] selfSigned(String name, String algorithm, String option) throws Exception {
        Run.run(List.of("openssl", "req", "-x509", "-newkey", algorithm, "-pkeyopt", option, "-nodes",
                "-keyout", dir.resolve(name + ".key").toString(), "-out", dir.resolve(name + ".crt").toString(),
                "-days", "1", "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:shop.example"), null);
        return new String[] {Files.readString(dir.resolve(name + ".crt")), Files.readString(dir.resolve(name + ".key"))};
    }

    /** A client certificate NAME.crt signed by clients-ca. */
    void signed(String name) throws Exception {
        Path key = dir.resolve(name + ".key");
        Path csr = dir.resolve(name + ".csr");
        Run.run(List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + name), null);
        Run.run(List.of("openssl", "x509", "-req", "-in", csr.toString(), "-CA", dir.resolve("clients-ca.crt").toString(),
                "-CAkey", dir.resolve("clients-ca.key").toString(), "-CAcreateserial", "-days", "1",
                "-out", dir.resolve(name + ".crt").toString()), null);
    }

    /** The base64 SHA-256 of the certificate's SubjectPublicKeyInfo, as openssl computes it. */
    String spki(String name) throws Exception {
        return Run.run(List.of("sh", "-c", "openssl x509 -in '" + dir.resolve(name + ".crt") + "' -pubkey -noout"
                + " | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl enc -base64"), null).strip();
    }

    /** The certificate's SHA-256 fingerprint as openssl prints it (hex bytes with colons). */
    String hash(String name) throws Exception {
        String out = Run.run(List.of("openssl", "x509", "-in", dir.resolve(name + ".crt").toString(), "-noout",
                "-fingerprint", "-sha256"), null).strip();
        return out.substring(out.indexOf('=') + 1);
    }

    /** openssl s_client to the port for shop.example, with extra arguments. */
    String sClient(int port, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "shop.example"));
        cmd.addAll(List.of(extra));
        return Run.run(cmd, "");
    }

    /** s_client to the dual-certificate server with these options, sending one GET over the handshake it makes. */
    static String request(int port, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "shop.example"));
        cmd.addAll(List.of(options));
        cmd.add("-ign_eof");
        return Run.run(cmd, "GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n");
    }

    /** The CN of the certificate the server presented in s_client's output. */
    static String presented(String out) {
        for (String cn : List.of("shop-ecdsa", "shop-rsa")) {
            if (out.contains("subject=CN=" + cn) || out.contains("subject=CN = " + cn)) {
                return cn;
            }
        }
        return "none: " + out;
    }

    @Test
    void aClientThatCanVerifyEcdsaGetsTheEcdsaCertificateEvenListedSecond() throws Exception {
        assertEquals("shop-ecdsa", presented(sClient(dual, "-tls1_3", "-sigalgs", "ecdsa_secp256r1_sha256")));
        assertEquals("shop-ecdsa", presented(sClient(dual)), "openssl's defaults accept both: ECDSA, as Envoy");
        assertEquals("shop-ecdsa", presented(sClient(dual, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")));
    }

    @Test
    void aClientThatCannotVerifyEcdsaGetsTheRsaCertificate() throws Exception {
        assertEquals("shop-rsa", presented(sClient(dual, "-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256:rsa_pkcs1_sha256")));
        assertEquals("shop-rsa", presented(sClient(dual, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256",
                "-sigalgs", "RSA+SHA256:RSA-PSS+SHA256")));
    }

    @Test
    void bothCertificatesServeRequests() throws Exception {
        assertEquals("web 200", curl(dual, null), "curl, given the ECDSA certificate");
        String rsa = request(dual, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", "-sigalgs", "RSA+SHA256");
        assertEquals("shop-rsa", presented(rsa));
        assertTrue(rsa.contains("HTTP/1.1 200") && rsa.contains("\r\n\r\nweb"), "over the RSA certificate: " + rsa);
    }

    @Test
    void aTls12ClientOfferingOnlyRsaCipherSuitesGetsTheRsaCertificateThoughItAcceptsEcdsaSignatures() throws Exception {
        // openssl's default signature algorithms accept ECDSA; its cipher suites here do not (Envoy: RSA).
        String out = request(dual, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256");
        assertEquals("shop-rsa", presented(out));
        assertTrue(out.contains("HTTP/1.1 200") && out.contains("\r\n\r\nweb"), "the handshake and request: " + out);
        assertEquals("web 200", curl(dual, null, "--tlsv1.2", "--tls-max", "1.2", "--ciphers",
                "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"), "curl with RSA cipher suites only");
    }

    @Test
    void aTls12ClientOfferingOnlyEcdsaCipherSuitesGetsTheEcdsaCertificate() throws Exception {
        String out = request(dual, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384");
        assertEquals("shop-ecdsa", presented(out));
        assertTrue(out.contains("HTTP/1.1 200") && out.contains("\r\n\r\nweb"), "the handshake and request: " + out);
        assertEquals("web 200", curl(dual, null, "--tlsv1.2", "--tls-max", "1.2", "--ciphers",
                "ECDHE-ECDSA-AES128-GCM-SHA256"), "curl with an ECDSA cipher suite only");
    }

    @Test
    void aTls12ClientOfferingBothKindsOfCipherSuiteGetsTheEcdsaCertificateWhateverItsOrder() throws Exception {
        assertEquals("shop-ecdsa", presented(sClient(dual, "-tls1_2", "-cipher",
                "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256")), "RSA suite preferred by the client");
        assertEquals("shop-ecdsa", presented(sClient(dual, "-tls1_2", "-cipher",
                "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384")), "and an ECDSA suite the server ranks lower");
        assertEquals("shop-rsa", presented(sClient(dual, "-tls1_2", "-cipher",
                "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256", "-sigalgs", "RSA+SHA256:RSA-PSS+SHA256")),
                "but without ECDSA signature algorithms: RSA");
    }

    @Test
    void overTls13TheSignatureAlgorithmsAloneDecideWhateverTheirOrder() throws Exception {
        assertEquals("shop-ecdsa", presented(sClient(dual, "-tls1_3", "-sigalgs",
                "rsa_pss_rsae_sha256:ecdsa_secp256r1_sha256")));
        assertEquals("shop-ecdsa", presented(sClient(dual, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256")));
    }

    @Test
    void aTcpServerThatTerminatesTlsChoosesAlike() throws Exception {
        // Its TLS is the JDK's with either data-plane engine (TcpRelay: a TLS 1.3 close_notify is a half-close there).
        assertEquals("shop-rsa", presented(sClient(tcpDual, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")));
        assertEquals("shop-ecdsa", presented(sClient(tcpDual, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")));
        assertEquals("shop-ecdsa", presented(sClient(tcpDual, "-tls1_2", "-cipher",
                "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384")), "ECDSA suites first in the server's order");
        assertEquals("shop-ecdsa", presented(sClient(tcpDual, "-tls1_3")));
        assertEquals("shop-rsa", presented(sClient(tcpDual, "-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256")));
        assertEquals("web 200", curl(tcpDual, null, "--tlsv1.2", "--tls-max", "1.2", "--ciphers",
                "ECDHE-RSA-AES128-GCM-SHA256"), "relayed over the RSA certificate");
    }

    /** curl's body and status ("000": the handshake or the request failed), with a client certificate if any. */
    String curl(int port, String client, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "-k", "--resolve",
                "shop.example:" + port + ":127.0.0.1", "-w", " %{http_code}"));
        cmd.addAll(List.of(extra));
        if (client != null) {
            cmd.addAll(List.of("--cert", dir.resolve(client + ".crt").toString(), "--key",
                    dir.resolve(client + ".key").toString()));
        }
        cmd.add("https://shop.example:" + port + "/");
        return Run.run(cmd, null).strip();
    }

    @Test
    void onlyClientCertificatesTheCaSignedAndOnePinMatchesAreLetIn() throws Exception {
        assertEquals("web 200", curl(pinned, "alice"), "pinned by its SPKI");
        assertEquals("web 200", curl(pinned, "bob"), "pinned by its certificate's hash");
        assertTrue(curl(pinned, "carol").endsWith("000"), "the CA signed it, but no pin matches");
        assertTrue(curl(pinned, "mallory").endsWith("000"), "pinned, but no CA signed it: pins add to the CA check");
        assertTrue(curl(pinned, null).endsWith("000"), "no client certificate");
        String alice = sClient(pinned, "-tls1_2", "-cert", dir.resolve("alice.crt").toString(), "-key",
                dir.resolve("alice.key").toString());
        assertTrue(alice.contains("Verification: OK") || alice.contains("Cipher is ECDHE"), alice);
        String carol = sClient(pinned, "-tls1_2", "-cert", dir.resolve("carol.crt").toString(), "-key",
                dir.resolve("carol.key").toString());
        assertTrue(carol.contains("Cipher is (NONE)") || carol.contains("alert"), carol);
    }
}
