package io.mesh.citadel.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The CA in a local folder ({@code <state-dir>/ca/}) in Istio's file names. The key file is mode 0600 and the
 * folder 0700. Creation is atomic: the files are written into a private temporary folder that is then renamed
 * into place, and a rename onto an existing folder fails, so two processes starting at once end with one root.
 */
public final class FolderCaStore implements CaStore {

    private final Path folder;

    public FolderCaStore(Path stateDir) {
        this.folder = stateDir.resolve("ca");
    }

    @Override
    public Optional<StoredCa> load() throws IOException {
        if (!Files.isRegularFile(folder.resolve(StoredCa.CA_KEY))) {
            return Optional.empty();
        }
        Map<String, String> entries = new HashMap<>();
        for (String name : new String[] {StoredCa.CA_CERT, StoredCa.CA_KEY, StoredCa.CERT_CHAIN, StoredCa.ROOT_CERT}) {
            Path file = folder.resolve(name);
            if (Files.isRegularFile(file)) {
                entries.put(name, Files.readString(file));
            }
        }
        return Optional.of(StoredCa.fromMap(entries));
    }

    @Override
    public StoredCa createIfAbsent(StoredCa ca) throws IOException {
        Optional<StoredCa> existing = load();
        if (existing.isPresent()) {
            return existing.get();
        }
        Path parent = folder.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path staging = Files.createTempDirectory(parent, ".ca-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            for (Map.Entry<String, String> e : ca.toMap().entrySet()) {
                String mode = StoredCa.CA_KEY.equals(e.getKey()) ? "rw-------" : "rw-r--r--";
                Path file = Files.createFile(staging.resolve(e.getKey()),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
                Files.writeString(file, e.getValue());
            }
            Files.move(staging, folder, StandardCopyOption.ATOMIC_MOVE);
            return ca;
        } catch (IOException e) {
            // Renaming onto a folder another process just filled fails (ENOTEMPTY): its root is the root.
            Optional<StoredCa> winner = load();
            if (winner.isPresent()) {
                return winner.get();
            }
            throw e;
        } finally {
            deleteQuietly(staging);
        }
    }

    @Override
    public String describe() {
        return "folder " + folder.toAbsolutePath();
    }

    private static void deleteQuietly(Path staging) throws IOException {
        if (!Files.exists(staging)) {
            return;
        }
        try (var files = Files.list(staging)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(staging);
    }
}
