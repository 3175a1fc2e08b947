package io.mesh.citadel.server;

import static io.mesh.citadel.Texts.assertContains;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.Openssl;
import io.mesh.citadel.TestKeys;
import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.CertificateIssuerTestSupport;
import io.mesh.citadel.ca.Pem;
import io.mesh.citadel.ca.SpiffeId;
import io.mesh.citadel.ca.TtlPolicy;
import io.mesh.testing.FreePorts;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two workloads holding certificates from this CA complete mutual TLS with openssl on both ends, and a client
 * whose certificate comes from another root is refused by the server.
 */
class MutualTlsWithOpensslTest {

    @TempDir
    Path dir;

    Process server;
    StringBuffer serverOutput = new StringBuffer();

    @BeforeEach
    void issueCertificates() throws Exception {
        CertificateIssuer mesh = new CertificateIssuer(CertificateIssuerTestSupport.selfSigned(), TtlPolicy.ISTIO, Clock.systemUTC());
        CertificateIssuer other = new CertificateIssuer(CertificateIssuerTestSupport.selfSigned(), TtlPolicy.ISTIO, Clock.systemUTC());
        write("web", mesh, new SpiffeId("cluster.local", "default", "web"));
        write("backend", mesh, new SpiffeId("cluster.local", "default", "backend"));
        write("intruder", other, new SpiffeId("cluster.local", "default", "web"));
        Files.writeString(dir.resolve("root.pem"), Pem.encode(mesh.trustBundle()));
    }

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.destroyForcibly();
        }
    }

    void write(String name, CertificateIssuer issuer, SpiffeId id) throws Exception {
        KeyPair key = TestKeys.ec("secp256r1");
        var chain = issuer.issue(key.getPublic(), id, 0).chain();
        Files.writeString(dir.resolve(name + ".pem"), Pem.encode(chain.get(0)));
        Files.writeString(dir.resolve(name + "-key.pem"), Pem.encode(key.getPrivate()));
    }

    int startServer() throws Exception {
        int port = FreePorts.next();
        server = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + port, "-naccept", "1",
                "-cert", "backend.pem", "-key", "backend-key.pem", "-CAfile", "root.pem",
                "-Verify", "2", "-verify_return_error")
                .directory(dir.toFile()).redirectErrorStream(true).start();
        CompletableFuture.runAsync(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    serverOutput.append(line).append('\n');
                }
            } catch (java.io.IOException e) {
                serverOutput.append("read failed: ").append(e);
            }
        });
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> serverOutput.toString().contains("ACCEPT"));
        return port;
    }

    Openssl.Result connect(int port, String clientName) {
        return Openssl.run(dir, "s_client", "-connect", "127.0.0.1:" + port, "-cert", clientName + ".pem",
                "-key", clientName + "-key.pem", "-CAfile", "root.pem", "-verify_return_error", "-brief");
    }

    @Test
    void twoWorkloadsWithMeshCertificatesCompleteMutualTls() throws Exception {
        int port = startServer();

        Openssl.Result client = connect(port, "web");

        assertTrue(client.exitCode() == 0, client.output());
        assertContains(client.output(), "Verification: OK", "Peer certificate: ");
        // s_server prints the client certificate it verified: it is web's mesh certificate.
        String webCert = Files.readString(dir.resolve("web.pem")).strip();
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> serverOutput.toString().contains(webCert));
        assertContains(serverOutput.toString(), "Client certificate");
    }

    @Test
    void aClientCertificateFromAnotherRootIsRefused() throws Exception {
        int port = startServer();

        connect(port, "intruder");

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> serverOutput.toString().contains("verify error"));
        assertTrue(server.waitFor(20, TimeUnit.SECONDS));
        assertContains(serverOutput.toString(), "unable to get local issuer certificate");
        assertTrue(!serverOutput.toString().contains("Client certificate"), serverOutput.toString());
    }

    @Test
    void aServerCertificateFromAnotherRootIsRefusedByTheClient() throws Exception {
        Files.writeString(dir.resolve("other-root.pem"), Files.readString(dir.resolve("root.pem")));
        int port = startServer();

        Openssl.Result client = Openssl.run(dir, "s_client", "-connect", "127.0.0.1:" + port, "-cert", "intruder.pem",
                "-key", "intruder-key.pem", "-CAfile", "intruder.pem", "-verify_return_error", "-brief");

        assertNotEquals(0, client.exitCode(), client.output());
        assertContains(client.output(), "verify error");
    }
}
