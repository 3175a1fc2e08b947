package io.mesh.citadel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mesh.citadel.ca.Pem;
import io.mesh.citadel.client.CertificateClient;
import io.mesh.citadel.client.CertificateClientException;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged citadel started as a process the way the local runner starts it (local mode, a state folder,
 * 127.0.0.1, the runner's small-heap JVM flags), with the demo's components fetching certificates with their
 * bootstrap tokens through the certificate client.
 */
class LocalRunnerIT {

    static final Path JAR = Path.of("target/quarkus-app/quarkus-run.jar");

    @TempDir
    Path run;

    Process citadel;
    Path log;
    int grpcPort = FreePorts.next();
    int monitoringPort = FreePorts.next();

    @AfterEach
    void stop() throws Exception {
        if (citadel != null) {
            citadel.destroy();
            citadel.waitFor();
        }
    }

    void start() throws IOException {
        Path state = run.resolve("state/citadel");
        log = run.resolve("citadel.log");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-Xms16m", "-Xmx128m", "-XX:ReservedCodeCacheSize=48m", "-XX:MaxMetaspaceSize=96m",
                "-Xss512k", "-jar", JAR.toAbsolutePath().toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().put("MESH_MODE", "local");
        builder.environment().put("QUARKUS_HTTP_HOST", "127.0.0.1");
        builder.environment().put("MESH_CITADEL_STATE_DIR", state.toString());
        builder.environment().put("MESH_CITADEL_MONITORING_PORT", Integer.toString(monitoringPort));
        builder.environment().put("MESH_CITADEL_GRPC_PORT", Integer.toString(grpcPort));
        // Refusals are logged at debug level; turn it on to prove no token shows up in them.
        builder.environment().put("QUARKUS_LOG_CATEGORY__IO_MESH_CITADEL__LEVEL", "DEBUG");
        citadel = builder.start();
        HttpClient http = HttpClient.newHttpClient();
        Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!citadel.isAlive()) {
                throw new AssertionError("citadel exited:\n" + Files.readString(log));
            }
            try {
                return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitoringPort + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
    }

    List<X509Certificate> roots() {
        try {
            return Pem.certificates(Files.readString(run.resolve("state/citadel/root-cert.pem")));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** As a demo component would: the token in a file of its own, the roots from citadel's root-cert.pem. */
    CertificateClient client(String token) throws IOException {
        Path tokenFile = Files.writeString(run.resolve("token-" + token), token + "\n");
        return CertificateClient.builder("127.0.0.1:" + grpcPort).rootsFile(run.resolve("state/citadel/root-cert.pem"))
                .tokenFile(tokenFile).build();
    }

    @Test
    void theDemosComponentsFetchCertificatesWithTheirBootstrapTokensAndARestartKeepsTheRoot() throws Exception {
        Path tokens = Files.createDirectories(run.resolve("state/citadel")).resolve("bootstrap-tokens");
        Files.writeString(tokens, "web-secret-token default/web\nbackend-secret-token default/backend\n"
                + "gateway-secret-token istio-system/istio-ingressgateway\n");
        start();
        X509Certificate root = roots().get(0);

        for (var entry : List.of(List.of("web-secret-token", "spiffe://cluster.local/ns/default/sa/web"),
                List.of("backend-secret-token", "spiffe://cluster.local/ns/default/sa/backend"),
                List.of("gateway-secret-token", "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway"))) {
            try (CertificateClient client = client(entry.get(0))) {
                CertifiedKey key = client.fetch();
                assertEquals(entry.get(1), key.leaf().getSubjectAlternativeNames().iterator().next().get(1));
                assertEquals(root, key.chain().get(key.chain().size() - 1));
                key.leaf().verify(root.getPublicKey());
            }
        }
        try (CertificateClient intruder = client("not-a-token")) {
            assertThrows(CertificateClientException.class, intruder::fetch);
        }

        citadel.destroy();
        citadel.waitFor();
        start();

        assertEquals(root, roots().get(0), "the restarted CA has the same root");
        try (CertificateClient client = client("web-secret-token")) {
            client.fetch().leaf().verify(root.getPublicKey());
        }
        String output = Files.readString(log);
        assertFalse(output.contains("secret-token") || output.contains("not-a-token"), "a token was logged:\n" + output);
        assertFalse(output.contains("PRIVATE KEY"), "a key was logged");
    }
}
