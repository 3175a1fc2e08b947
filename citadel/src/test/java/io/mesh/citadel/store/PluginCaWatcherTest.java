package io.mesh.citadel.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.Openssl;
import io.mesh.citadel.TestKeys;
import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.IssuerMaterial;
import io.mesh.citadel.ca.Pem;
import io.mesh.citadel.ca.SpiffeId;
import io.mesh.citadel.ca.TtlPolicy;
import io.mesh.citadel.distribution.RootCertFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PluginCaWatcherTest {

    static final SpiffeId WEB = new SpiffeId("cluster.local", "default", "web");

    @TempDir
    Path dir;

    static void copyCaFiles(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        for (String name : List.of("ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem")) {
            Files.copy(from.resolve(name), to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Test
    void changedPluginFilesSwapTheIssuerWithoutFailingInFlightRequestsAndPublishBothRoots() throws Exception {
        Path oldCa = Openssl.pluginCa(dir.resolve("old"), "old");
        Path newCa = Openssl.pluginCa(dir.resolve("new"), "new");
        Path cacerts = dir.resolve("cacerts");
        copyCaFiles(oldCa, cacerts);
        PluginCaFolder folder = new PluginCaFolder(cacerts);
        IssuerMaterial first = folder.load(Instant.now());
        CertificateIssuer issuer = new CertificateIssuer(first, TtlPolicy.ISTIO, Clock.systemUTC());
        RootCertFile published = new RootCertFile(dir.resolve("state"));
        issuer.onTrustBundle(published);
        PluginCaWatcher watcher = new PluginCaWatcher(folder, issuer, folder.fingerprint(), Clock.systemUTC());
        PublicKey key = TestKeys.ec("secp256r1").getPublic();

        // Requests keep running on other threads while the files change and the watcher swaps.
        ExecutorService pool = Executors.newFixedThreadPool(2);
        AtomicBoolean stop = new AtomicBoolean();
        List<Future<Integer>> workers = List.of(pool.submit(() -> issueUntil(stop, issuer, key)),
                pool.submit(() -> issueUntil(stop, issuer, key)));
        copyCaFiles(newCa, cacerts);
        watcher.check();
        stop.set(true);
        for (Future<Integer> worker : workers) {
            assertTrue(worker.get() > 0, "every in-flight request succeeded");
        }
        pool.shutdown();

        IssuerMaterial second = folder.load(Instant.now());
        assertEquals(second.certificate(), issuer.material().certificate());
        issuer.issue(key, WEB, 0).leaf().verify(second.certificate().getPublicKey());
        assertEquals(List.of(second.root(), first.root()), issuer.trustBundle());
        assertEquals(List.of(second.root(), first.root()),
                Pem.certificates(Files.readString(dir.resolve("state/root-cert.pem"))));
        watcher.close();
    }

    static int issueUntil(AtomicBoolean stop, CertificateIssuer issuer, PublicKey key) throws Exception {
        int issued = 0;
        do {
            issuer.issue(key, WEB, 0);
            issued++;
        } while (!stop.get());
        return issued;
    }

    @Test
    void aHalfCopiedPluginCaIsIgnoredAndTheLastGoodOneKeepsSigning() throws Exception {
        Path oldCa = Openssl.pluginCa(dir.resolve("old"), "old");
        Path newCa = Openssl.pluginCa(dir.resolve("new"), "new");
        Path cacerts = dir.resolve("cacerts");
        copyCaFiles(oldCa, cacerts);
        PluginCaFolder folder = new PluginCaFolder(cacerts);
        IssuerMaterial first = folder.load(Instant.now());
        CertificateIssuer issuer = new CertificateIssuer(first, TtlPolicy.ISTIO, Clock.systemUTC());
        PluginCaWatcher watcher = new PluginCaWatcher(folder, issuer, folder.fingerprint(), Clock.systemUTC());

        // Only the new certificate has arrived; its key has not.
        Files.copy(newCa.resolve("ca-cert.pem"), cacerts.resolve("ca-cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        watcher.check();

        assertEquals(first.certificate(), issuer.material().certificate());
        assertEquals(List.of(first.root()), issuer.trustBundle());

        copyCaFiles(newCa, cacerts);
        watcher.check();

        assertEquals(folder.load(Instant.now()).certificate(), issuer.material().certificate());
        watcher.close();
    }
}
