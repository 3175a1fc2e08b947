package io.mesh.citadel.server;

import static io.mesh.citadel.Texts.assertContains;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mesh.citadel.CitadelRuntime;
import io.mesh.citadel.Openssl;
import io.mesh.citadel.TestKeys;
import io.mesh.citadel.ca.CertificateIssuerTestSupport;
import io.mesh.citadel.ca.Pem;
import io.mesh.citadel.client.CertificateClient;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.proto.ca.IstioCertificateResponse;
import io.mesh.testing.Promtool;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The CA in local mode, over TLS, driven by a real grpc-java client with bootstrap tokens and client certs. */
@QuarkusTest
class CreateCertificateLocalModeTest {

    static final Path STATE = Path.of("target/citadel-state");
    static final String WEB = "spiffe://cluster.local/ns/default/sa/web";

    @Inject
    CitadelRuntime runtime;

    ManagedChannel channel;

    @BeforeEach
    void openChannel() throws Exception {
        Files.createDirectories(STATE);
        Files.writeString(STATE.resolve("bootstrap-tokens"), """
                # token namespace/service-account
                web-token default/web
                backend-token default/backend
                """);
        channel = CaChannels.open(runtime.grpcPort(), roots(), Optional.empty());
    }

    @AfterEach
    void closeChannel() {
        channel.shutdownNow();
    }

    static List<X509Certificate> roots() throws Exception {
        return Pem.certificates(Files.readString(STATE.resolve("root-cert.pem")));
    }

    static List<X509Certificate> chain(IstioCertificateResponse response) throws Exception {
        return Pem.certificates(String.join("", response.getCertChainList()));
    }

    Status.Code refusal(ManagedChannel ch, Optional<String> token, String csr) {
        return assertThrows(StatusRuntimeException.class, () -> CaChannels.call(ch, token, csr, 0)).getStatus().getCode();
    }

    @Test
    void aBootstrapTokenGetsACertificateThatOpensslVerifiesAgainstThePublishedRoot(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        IstioCertificateResponse response = CaChannels.call(channel, Optional.of("web-token"),
                TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()), 0);

        List<X509Certificate> chain = chain(response);
        assertEquals(2, chain.size(), "leaf then root");
        assertEquals(roots().get(0), chain.get(1));
        Files.writeString(dir.resolve("leaf.pem"), response.getCertChain(0));
        Files.copy(STATE.resolve("root-cert.pem"), dir.resolve("root.pem"));
        Openssl.ok(dir, "verify", "-CAfile", "root.pem", "leaf.pem");
        assertContains(Openssl.ok(dir, "x509", "-in", "leaf.pem", "-noout", "-text"), "URI:" + WEB,
                "TLS Web Server Authentication, TLS Web Client Authentication");
    }

    @Test
    void citadelsOwnServingCertificateIsIssuedByItselfForItsServiceAndLocalNames(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Files.copy(STATE.resolve("root-cert.pem"), dir.resolve("root.pem"));

        String handshake = Openssl.ok(dir, "s_client", "-connect", "127.0.0.1:" + runtime.grpcPort(), "-alpn", "h2",
                "-servername", "citadel.istio-system.svc", "-CAfile", "root.pem", "-verify_return_error");
        Files.writeString(dir.resolve("served.txt"), handshake);

        assertContains(handshake, "Verify return code: 0 (ok)");
        Openssl.ok(dir, "verify", "-CAfile", "root.pem", "-purpose", "sslserver", "served.txt");
        assertContains(Openssl.ok(dir, "x509", "-in", "served.txt", "-noout", "-text"),
                "DNS:istio-citadel.istio-system.svc", "DNS:istio-citadel.istio-system.svc.cluster.local",
                "DNS:citadel.istio-system.svc", "DNS:citadel.istio-system.svc.cluster.local", "DNS:localhost",
                "IP Address:127.0.0.1", "URI:spiffe://cluster.local/ns/istio-system/sa/citadel");
    }

    @Test
    void refusalsAreLoggedWithTheirReasonButNeverWithATokenOrACsr() throws Exception {
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Logger category = java.util.logging.Logger.getLogger("io.mesh.citadel");
        java.util.logging.Level before = category.getLevel();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                Object[] parameters = r.getParameters() == null ? new Object[0] : r.getParameters();
                lines.add(r.getMessage() + " " + java.util.Arrays.toString(parameters));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        // Refusals are logged at debug: turn it on for the CA's categories while the calls run.
        category.setLevel(java.util.logging.Level.ALL);
        category.addHandler(capture);
        String csr = TestKeys.csr(TestKeys.ec("secp256r1"), Optional.of("spiffe://cluster.local/ns/default/sa/backend"));
        String body = csr.lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
        try {
            refusal(channel, Optional.of("web-token"), csr);
            refusal(channel, Optional.of("not-a-known-secret-token"), csr);
            refusal(channel, Optional.of("web-token"), csr.replace(body, "x" + body));
        } finally {
            category.removeHandler(capture);
            category.setLevel(before);
        }

        assertTrue(lines.stream().anyMatch(l -> l.contains("refused")), "the refusals were logged: " + lines);
        for (String line : lines) {
            for (String secret : List.of("web-token", "not-a-known-secret-token", body, "BEGIN CERTIFICATE REQUEST")) {
                assertTrue(!line.contains(secret), "a log line carries a secret or the CSR: " + line);
            }
        }
    }

    @Test
    void aNegativeTtlIsAnInvalidArgument() throws Exception {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> CaChannels.call(channel,
                Optional.of("web-token"), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()), -1));

        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertContains(e.getStatus().getDescription(), "validity_duration must not be negative");
    }

    @Test
    void aCsrNamingTheProvenIdentityIsSigned() throws Exception {
        var response = CaChannels.call(channel, Optional.of("web-token"), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.of(WEB)), 3600);

        assertEquals(WEB, chain(response).get(0).getSubjectAlternativeNames().iterator().next().get(1));
    }

    @Test
    void aCsrForAnotherIdentityIsPermissionDenied() throws Exception {
        String csr = TestKeys.csr(TestKeys.ec("secp256r1"), Optional.of("spiffe://cluster.local/ns/default/sa/backend"));

        assertEquals(Status.Code.PERMISSION_DENIED, refusal(channel, Optional.of("web-token"), csr));
    }

    @Test
    void aRequestWithoutCredentialsIsUnauthenticated() throws Exception {
        assertEquals(Status.Code.UNAUTHENTICATED, refusal(channel, Optional.empty(), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty())));
    }

    @Test
    void anUnknownBootstrapTokenIsUnauthenticated() throws Exception {
        assertEquals(Status.Code.UNAUTHENTICATED, refusal(channel, Optional.of("guessed"), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty())));
    }

    @Test
    void badCsrsAreInvalidArgumentsNamingTheReason() throws Exception {
        KeyPair key = TestKeys.ec("secp256r1");
        var cases = java.util.Map.of(
                "not a csr", "malformed CSR",
                TestKeys.csr(key, TestKeys.ec("secp256r1"), List.of()), "bad CSR signature",
                TestKeys.csr(TestKeys.rsa(1024), Optional.empty()), "weak key: RSA 1024",
                TestKeys.csr(TestKeys.ec("secp256k1"), Optional.empty()), "weak key: EC curve");
        for (var c : cases.entrySet()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> CaChannels.call(channel, Optional.of("web-token"), c.getKey(), 0));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertContains(e.getStatus().getDescription(), c.getValue());
        }
    }

    @Test
    void aCertificateThisCaIssuedRenewsWithoutAToken() throws Exception {
        KeyPair first = TestKeys.ec("secp256r1");
        var issued = chain(CaChannels.call(channel, Optional.of("backend-token"), TestKeys.csr(first, Optional.empty()), 0));
        ManagedChannel mtls = CaChannels.open(runtime.grpcPort(), roots(), Optional.of(new CertifiedKey(first.getPrivate(), issued)));
        try {
            var renewed = chain(CaChannels.call(mtls, Optional.empty(), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()), 0));

            assertEquals(List.copyOf(issued.get(0).getSubjectAlternativeNames()), List.copyOf(renewed.get(0).getSubjectAlternativeNames()));
            assertEquals(Status.Code.PERMISSION_DENIED, refusal(mtls, Optional.empty(),
                    TestKeys.csr(TestKeys.ec("secp256r1"), Optional.of(WEB))));
        } finally {
            mtls.shutdownNow();
        }
    }

    @Test
    void aClientCertificateFromAnotherRootIsRefusedAtTheHandshake() throws Exception {
        var foreign = new io.mesh.citadel.ca.CertificateIssuer(CertificateIssuerTestSupport.selfSigned(),
                io.mesh.citadel.ca.TtlPolicy.ISTIO, java.time.Clock.systemUTC());
        KeyPair key = TestKeys.ec("secp256r1");
        var foreignChain = foreign.issue(key.getPublic(), new io.mesh.citadel.ca.SpiffeId("cluster.local", "default", "web"), 0).chain();
        ManagedChannel mtls = CaChannels.open(runtime.grpcPort(), roots(), Optional.of(new CertifiedKey(key.getPrivate(), foreignChain)));
        try {
            assertEquals(Status.Code.UNAVAILABLE, refusal(mtls, Optional.of("web-token"),
                    TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty())));
        } finally {
            mtls.shutdownNow();
        }
    }

    @Test
    void theCertificateClientKeepsItsKeyInMemoryAndRenewsWithItsCertificate() throws Exception {
        try (CertificateClient client = CertificateClient.builder("127.0.0.1:" + runtime.grpcPort())
                .roots(() -> {
                    try {
                        return roots();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                })
                .token(() -> Optional.of("web-token")).identity(WEB).build()) {
            CertifiedKey first = client.start();
            assertEquals(WEB, first.leaf().getSubjectAlternativeNames().iterator().next().get(1));
            assertTrue(client.current().isPresent());

            CertifiedKey second = client.fetch();

            assertTrue(!first.leaf().getSerialNumber().equals(second.leaf().getSerialNumber()));
            assertEquals(second, client.current().orElseThrow());
            assertEquals(second.key(), client.keyManager().getPrivateKey("current"));
        }
    }

    @Test
    void issuanceAndRefusalsAreCountedUnderIstiosMetricNames() throws Exception {
        CaChannels.call(channel, Optional.of("web-token"), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()), 0);
        refusal(channel, Optional.empty(), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()));
        refusal(channel, Optional.of("web-token"), "garbage");

        String metrics = given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics").then().statusCode(200).extract().asString();

        assertContains(metrics, "citadel_server_csr_count_total", "citadel_server_success_cert_issuance_count_total",
                "citadel_server_csr_parsing_err_count_total", "citadel_server_authentication_failure_count_total",
                "citadel_server_root_cert_expiry_timestamp");
        Promtool.assertValidMetrics(metrics);
    }
}
