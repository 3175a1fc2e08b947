package io.mesh.citadel.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.citadel.ca.IssuerMaterial;
import io.mesh.citadel.ca.KeyAlgorithm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FolderCaStoreTest {

    @TempDir
    Path stateDir;

    IssuerMaterial start(Path dir) throws Exception {
        return CaBootstrap.loadOrCreate(new FolderCaStore(dir), KeyAlgorithm.EC_P256, "cluster.local",
                Duration.ofDays(365), Instant.now());
    }

    @Test
    void theKeyFileIsReadableByItsOwnerOnly() throws Exception {
        start(stateDir);

        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(stateDir.resolve("ca/ca-key.pem"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(stateDir.resolve("ca"))));
    }

    @Test
    void aRestartKeepsTheRoot() throws Exception {
        IssuerMaterial first = start(stateDir);

        IssuerMaterial second = start(stateDir);

        assertEquals(first.root(), second.root());
    }

    @Test
    void processesStartingTogetherEndWithOneRoot() throws Exception {
        int starts = 6;
        ExecutorService pool = Executors.newFixedThreadPool(starts);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<IssuerMaterial>> futures = new java.util.ArrayList<>();
            for (int i = 0; i < starts; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return start(stateDir);
                }));
            }
            go.countDown();
            Set<?> roots = futures.stream().map(f -> {
                try {
                    return f.get().root();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }).collect(Collectors.toSet());
            assertEquals(1, roots.size(), "every start uses the same root");
            assertEquals(roots.iterator().next(), start(stateDir).root());
        } finally {
            pool.shutdownNow();
        }
    }
}
