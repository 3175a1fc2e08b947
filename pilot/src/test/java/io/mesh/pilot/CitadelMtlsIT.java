package io.mesh.pilot;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.mesh.citadel.client.BundleTrustManager;
import io.mesh.citadel.client.CertificateClient;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.citadel.client.RotatingKeyManager;
import io.mesh.pilot.model.ExecutorScheduler;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.RawAdsClient;
import io.mesh.testing.FreePorts;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.math.BigInteger;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The mTLS xDS port (15012) with a certificate from a real citadel: the packaged citadel (../citadel) runs as its
 * own process in local mode with bootstrap tokens, pilot gets {@code spiffe://cluster.local/ns/istio-system/sa/istiod}
 * from it, and grpc-java ADS clients connect over mutual TLS: one with a citadel certificate of its own is served,
 * one without a certificate and one with a certificate from another root are refused. The identity of pilot is
 * checked the way a sidecar checks it (chain to the mesh root, SPIFFE ID), since citadel signs no DNS names.
 */
class CitadelMtlsIT {
    static final Path WORK = Path.of("target", "citadel-mtls-it").toAbsolutePath();
    static final Path CITADEL_JAR = Path.of("..", "citadel", "target", "quarkus-app", "quarkus-run.jar").toAbsolutePath();
    static final String ISTIOD = "spiffe://cluster.local/ns/istio-system/sa/istiod";
    static final String WEB = "web.demo.svc.cluster.local:80";
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static Process citadel;
    static int caPort;
    static Path state;
    static Path root;
    static Path istiodToken;
    static Path webToken;
    static Path config;

    @BeforeAll
    static void startCitadel() throws Exception {
        assertTrue(Files.exists(CITADEL_JAR), "the packaged citadel is missing at " + CITADEL_JAR
                + " (build with -am: pilot's pom depends on citadel for build order)");
        Files.createDirectories(WORK);
        Path run = Files.createTempDirectory(WORK, "run");
        state = Files.createDirectories(run.resolve("citadel"));
        istiodToken = Files.writeString(run.resolve("istio-system.istiod.token"), "istiod-" + System.nanoTime());
        webToken = Files.writeString(run.resolve("demo.web.token"), "web-" + System.nanoTime());
        Files.writeString(state.resolve("bootstrap-tokens"), Files.readString(istiodToken) + " istio-system/istiod\n"
                + Files.readString(webToken) + " demo/web\n");
        root = state.resolve("root-cert.pem");
        config = Files.createDirectories(run.resolve("config"));
        Files.writeString(config.resolve("services.yaml"), MeshFixtures.serviceEntry("web", "", 9001));
        caPort = FreePorts.next();
        int monitoring = FreePorts.next();
        ProcessBuilder pb = new ProcessBuilder(java(), "-XX:+UseSerialGC", "-Xmx128m", "-jar", CITADEL_JAR.toString())
                .redirectErrorStream(true).redirectOutput(run.resolve("citadel.log").toFile());
        pb.environment().putAll(Map.of("MESH_MODE", "local", "MESH_CITADEL_STATE_DIR", state.toString(),
                "MESH_CITADEL_GRPC_PORT", Integer.toString(caPort), "MESH_CITADEL_GRPC_HOST", "127.0.0.1",
                "MESH_CITADEL_MONITORING_PORT", Integer.toString(monitoring), "QUARKUS_HTTP_HOST", "127.0.0.1"));
        citadel = pb.start();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> !citadel.isAlive() || status("http://127.0.0.1:" + monitoring + "/q/health/ready") == 200);
        assertTrue(citadel.isAlive(), "citadel exited: " + Files.readString(run.resolve("citadel.log")));
        assertTrue(Files.exists(root), "citadel published no root-cert.pem");
    }

    @AfterAll
    static void stopCitadel() throws Exception {
        stop(citadel);
    }

    @Test
    void pilotServesAdsOverMtlsWithItsCitadelCertificateAndRotatesIt() throws Exception {
        PilotRuntime.Settings settings = new PilotRuntime.Settings("127.0.0.1", 0, config, Duration.ofMillis(100),
                Duration.ofSeconds(10), 2, null, new PilotRuntime.CitadelTls(0, "127.0.0.1:" + caPort, istiodToken,
                        root, ISTIOD));
        try (PilotRuntime pilot = new PilotRuntime(settings, new SimpleMeterRegistry(),
                new ExecutorScheduler(Executors.newSingleThreadScheduledExecutor()), () -> ServiceSource.View.EMPTY,
                (raw, reason) -> {
                }).start()) {
            var certificate = pilot.citadelCertificate().orElseThrow();
            await().atMost(Duration.ofSeconds(30)).until(() -> certificate.current().isPresent());
            X509Certificate first = certificate.current().orElseThrow().leaf();
            assertEquals(List.of(List.of(6, ISTIOD)), sans(first), "pilot's certificate names exactly istiod's identity");

            CertifiedKey web = webCertificate();
            AtomicReference<X509Certificate> served = new AtomicReference<>();
            assertServed(pilot.xdsTlsPort(), Optional.of(web), served);
            assertEquals(first.getSerialNumber(), served.get().getSerialNumber(), "pilot presents its citadel certificate");

            // Rotation: a renewal (what CertificateClient does at half-life) is presented at the next handshake.
            BigInteger renewed = certificate.renew().leaf().getSerialNumber();
            assertNotEquals(first.getSerialNumber(), renewed);
            assertServed(pilot.xdsTlsPort(), Optional.of(web), served);
            assertEquals(renewed, served.get().getSerialNumber(), "the renewed certificate is served, no restart");

            assertRefused(pilot.xdsTlsPort(), Optional.empty(), "a client without a certificate");
            assertRefused(pilot.xdsTlsPort(), Optional.of(foreignCertificate()), "a client with a certificate from another root");
        }
    }

    @Test
    void thePackagedPilotGetsItsCertificateWithTheSettingsTheManifestsUse() throws Exception {
        int xds = FreePorts.next();
        int tls = FreePorts.next();
        int monitoring = FreePorts.next();
        Path log = WORK.resolve("pilot-" + System.nanoTime() + ".log");
        ProcessBuilder pb = new ProcessBuilder(java(), "-XX:+UseSerialGC", "-Xmx128m", "-jar",
                "target/quarkus-app/quarkus-run.jar").redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = new HashMap<>(Map.of("MESH_MODE", "local", "MESH_PILOT_CONFIG_DIR", config.toString(),
                "MESH_PILOT_XDS_PORT", Integer.toString(xds), "MESH_PILOT_XDS_HOST", "127.0.0.1",
                "MESH_PILOT_TLS_PORT", Integer.toString(tls), "MESH_PILOT_MONITORING_PORT", Integer.toString(monitoring),
                "QUARKUS_HTTP_HOST", "127.0.0.1", "MESH_PILOT_CITADEL_ADDRESS", "127.0.0.1:" + caPort,
                "MESH_PILOT_CITADEL_TOKEN_FILE", istiodToken.toString(),
                "MESH_PILOT_CITADEL_ROOT_CERT_FILE", root.toString()));
        pb.environment().putAll(env);
        Process pilot = pb.start();
        try {
            CertifiedKey web = webCertificate();
            AtomicReference<X509Certificate> served = new AtomicReference<>();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                    .until(() -> {
                        assertTrue(pilot.isAlive(), "pilot exited: " + Files.readString(log));
                        assertServed(tls, Optional.of(web), served);
                        return true;
                    });
            assertEquals(List.of(List.of(6, ISTIOD)), sans(served.get()));
            assertRefused(tls, Optional.empty(), "a client without a certificate");
            assertTrue(Files.readString(log).contains("xDS mTLS certificate from citadel 127.0.0.1:" + caPort + ": " + ISTIOD),
                    Files.readString(log));
        } finally {
            stop(pilot);
        }

        // Half the settings is a clear startup error that names the missing one.
        env.remove("MESH_PILOT_CITADEL_TOKEN_FILE");
        Path bad = WORK.resolve("pilot-bad-" + System.nanoTime() + ".log");
        ProcessBuilder misconfigured = new ProcessBuilder(java(), "-Xmx64m", "-jar", "target/quarkus-app/quarkus-run.jar")
                .redirectErrorStream(true).redirectOutput(bad.toFile());
        misconfigured.environment().putAll(env);
        Process refused = misconfigured.start();
        try {
            assertTrue(refused.waitFor(60, TimeUnit.SECONDS), "pilot started without a citadel token file");
            assertNotEquals(0, refused.exitValue());
            assertTrue(Files.readString(bad).contains("MESH_PILOT_CITADEL_TOKEN_FILE"), Files.readString(bad));
        } finally {
            stop(refused);
        }
    }

    /** demo/web's certificate from the same citadel: what a sidecar presents. */
    static CertifiedKey webCertificate() throws Exception {
        try (CertificateClient client = CertificateClient.builder("127.0.0.1:" + caPort).rootsFile(root)
                .tokenFile(webToken).build()) {
            return client.fetch();
        }
    }

    /** An ADS request over 15012 is answered; {@code served} gets the certificate pilot presented. */
    static void assertServed(int port, Optional<CertifiedKey> key, AtomicReference<X509Certificate> served)
            throws Exception {
        try (RawAdsClient client = new RawAdsClient(channel(port, key, served), "mtls-" + System.nanoTime(), "grpc")
                .openSotw()) {
            client.request(Resources.V3.LISTENER_TYPE_URL, List.of(WEB), "", "", null);
            DiscoveryResponse response = client.next(Duration.ofSeconds(10));
            assertNotNull(response, "no ADS response over mTLS: " + client.error);
            assertEquals(1, response.getResourcesCount());
        }
    }

    static void assertRefused(int port, Optional<CertifiedKey> key, String who) throws Exception {
        try (RawAdsClient client = new RawAdsClient(channel(port, key, new AtomicReference<>()), "refused", "grpc")
                .openSotw()) {
            client.request(Resources.V3.LISTENER_TYPE_URL, List.of(WEB), "", "", null);
            await().atMost(Duration.ofSeconds(10)).until(() -> client.error != null);
            assertNull(client.next(Duration.ZERO), who + " must be refused");
            assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(client.error).getCode(), who);
        }
    }

    /** A grpc-java channel that presents {@code key} and accepts only istiod's SPIFFE ID under the mesh root. */
    static io.grpc.ManagedChannel channel(int port, Optional<CertifiedKey> key, AtomicReference<X509Certificate> served)
            throws Exception {
        var ssl = GrpcSslContexts.forClient().keyManager(new RotatingKeyManager(() -> key))
                .trustManager(new SpiffeTrust(new BundleTrustManager(CitadelMtlsIT::roots), ISTIOD, served)).build();
        return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(ssl).build();
    }

    static List<X509Certificate> roots() {
        try (var in = Files.newInputStream(root)) {
            List<X509Certificate> out = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            return out;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A P-256 key and a self-signed certificate naming demo/web, from openssl: right name, wrong root. */
    static CertifiedKey foreignCertificate() throws Exception {
        Path dir = Files.createTempDirectory(WORK, "foreign");
        File log = dir.resolve("openssl.log").toFile();
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-subj", "/O=elsewhere", "-days", "1",
                "-addext", "subjectAltName=URI:spiffe://cluster.local/ns/demo/sa/web").directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(log).start();
        assertEquals(0, p.waitFor(), Files.readString(log.toPath()));
        String pem = Files.readString(dir.resolve("key.pem")).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        var privateKey = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(dir.resolve("cert.pem"))));
        return new CertifiedKey(privateKey, List.of(cert));
    }

    static List<List<?>> sans(X509Certificate cert) throws Exception {
        return cert.getSubjectAlternativeNames().stream().<List<?>>map(List::copyOf).toList();
    }

    /**
     * How a mesh client verifies pilot: the chain must reach the mesh root, and the leaf must name the expected
     * SPIFFE ID (citadel issues no DNS names, so there is no hostname to check).
     */
    static final class SpiffeTrust extends X509ExtendedTrustManager {
        private final BundleTrustManager roots;
        private final String expected;
        private final AtomicReference<X509Certificate> served;

        SpiffeTrust(BundleTrustManager roots, String expected, AtomicReference<X509Certificate> served) {
            this.roots = roots;
            this.expected = expected;
            this.served = served;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            roots.checkServerTrusted(chain, authType);
            List<List<?>> names;
            try {
                names = sans(chain[0]);
            } catch (Exception e) {
                throw new CertificateException(e);
            }
            if (!names.contains(List.of(6, expected))) {
                throw new CertificateException("the server is " + names + ", not " + expected);
            }
            served.set(chain[0]);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a client-side trust manager");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return roots.getAcceptedIssuers();
        }
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static int status(String url) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (Exception e) {
            return 0;
        }
    }

    static void stop(Process process) throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
