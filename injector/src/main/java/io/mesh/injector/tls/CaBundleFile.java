package io.mesh.injector.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Consumer;

/**
 * Local mode: writes the trust bundle to {@code <state-dir>/webhook-ca.pem} (atomically), for
 * {@code curl --cacert} and the benchmark. It holds only certificates, never a key.
 */
public final class CaBundleFile implements Consumer<String> {

    public static final String NAME = "webhook-ca.pem";

    private final Path file;

    public CaBundleFile(Path stateDir) {
        this.file = stateDir.resolve(NAME);
    }

    public Path path() {
        return file;
    }

    @Override
    public void accept(String bundlePem) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path temporary = file.resolveSibling(NAME + ".tmp");
            Files.writeString(temporary, bundlePem);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
