package io.mesh.citadel.distribution;

import io.mesh.citadel.ca.Pem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Consumer;

/**
 * Local mode's root distribution: {@code <state-dir>/root-cert.pem}, the whole trust bundle, replaced atomically
 * (write then rename) so a reader never sees half a file.
 */
public final class RootCertFile implements Consumer<List<X509Certificate>> {

    public static final String FILE_NAME = "root-cert.pem";

    private final Path file;

    public RootCertFile(Path stateDir) {
        this.file = stateDir.resolve(FILE_NAME);
    }

    @Override
    public void accept(List<X509Certificate> bundle) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path staging = Files.createTempFile(file.toAbsolutePath().getParent(), ".root-cert-", ".pem");
            Files.writeString(staging, Pem.encode(bundle));
            Files.move(staging, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    public Path file() {
        return file;
    }
}
