package io.mesh.citadel.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.mesh.citadel.CitadelRuntime;
import io.mesh.citadel.Openssl;
import io.mesh.citadel.TestKeys;
import io.mesh.citadel.ca.Pem;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * citadel started on an operator's plug-in CA (made with openssl, Istio's cacerts layout) in local mode: it issues
 * from the intermediate, and when the files are replaced it swaps to the new CA while the published root bundle
 * holds both roots.
 */
@QuarkusTest
@TestProfile(PluginCaRotationTest.PluginCa.class)
class PluginCaRotationTest {

    static final Path BASE = Path.of("target/plugin-ca-test").toAbsolutePath();
    static final Path CACERTS = BASE.resolve("cacerts");
    static final Path STATE = BASE.resolve("state");

    public static class PluginCa implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                deleteRecursively(BASE);
                Path first = Openssl.pluginCa(BASE.resolve("first"), "first");
                Openssl.pluginCa(BASE.resolve("second"), "second");
                copyCa(first, CACERTS);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("mesh.citadel.plugin-certs-dir", CACERTS.toString(), "mesh.citadel.state-dir", STATE.toString(),
                    "mesh.citadel.plugin-reload-interval", "100ms");
        }
    }

    static void copyCa(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String name : List.of("ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem")) {
            Files.copy(from.resolve(name), to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    @Inject
    CitadelRuntime runtime;

    static X509Certificate cert(Path pem) throws Exception {
        return Pem.certificates(Files.readString(pem)).get(0);
    }

    List<X509Certificate> issue(List<X509Certificate> trust) throws Exception {
        Files.writeString(STATE.resolve("bootstrap-tokens"), "web-token default/web\n");
        ManagedChannel channel = CaChannels.open(runtime.grpcPort(), trust, Optional.empty());
        try {
            var response = CaChannels.call(channel, Optional.of("web-token"), TestKeys.csr(TestKeys.ec("secp256r1"), Optional.empty()), 0);
            return Pem.certificates(String.join("", response.getCertChainList()));
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void issuesFromThePluginIntermediateAndSwapsToNewFilesPublishingBothRoots() throws Exception {
        X509Certificate firstRoot = cert(BASE.resolve("first/root-cert.pem"));
        X509Certificate secondRoot = cert(BASE.resolve("second/root-cert.pem"));

        List<X509Certificate> before = issue(List.of(firstRoot));
        assertEquals(List.of(cert(BASE.resolve("first/ca-cert.pem")), firstRoot), before.subList(1, 3));

        copyCa(BASE.resolve("second"), CACERTS);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> Pem.certificates(
                Files.readString(STATE.resolve("root-cert.pem"))).equals(List.of(secondRoot, firstRoot)));

        // The serving certificate now chains to the new root; clients trust the published bundle, which has both.
        List<X509Certificate> after = issue(Pem.certificates(Files.readString(STATE.resolve("root-cert.pem"))));
        assertEquals(List.of(cert(BASE.resolve("second/ca-cert.pem")), secondRoot), after.subList(1, 3));
        after.get(0).verify(after.get(1).getPublicKey());
    }
}
