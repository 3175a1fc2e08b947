package io.mesh.pilot.registry;

import io.mesh.pilot.model.CredentialSource;
import io.mesh.pilot.model.TlsCredential;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Local mode's gateway certificates: NAME.crt and NAME.key (and optionally NAME-cacert.crt) in a folder, for a
 * Gateway server with {@code credentialName: NAME}. Key material is read, never logged.
 */
public final class LocalCredentials implements CredentialSource {
    private static final Logger LOG = Logger.getLogger(LocalCredentials.class);
    private final Path dir;

    public LocalCredentials(Path dir) {
        this.dir = dir;
    }

    @Override
    public Map<String, TlsCredential> credentials() {
        Map<String, TlsCredential> out = new TreeMap<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path crt : files.filter(p -> p.toString().endsWith(".crt") && !p.toString().endsWith("-cacert.crt"))
                    .toList()) {
                String name = crt.getFileName().toString().replaceFirst("\\.crt$", "");
                Path key = dir.resolve(name + ".key");
                Path ca = dir.resolve(name + "-cacert.crt");
                if (!Files.exists(key)) {
                    LOG.warnf("credential %s has %s but no %s", name, crt.getFileName(), key.getFileName());
                    continue;
                }
                out.put(name, new TlsCredential(name, Files.readString(crt), Files.readString(key),
                        Files.exists(ca) ? Files.readString(ca) : null));
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            LOG.warnf("cannot read credentials in %s: %s", dir, e.getMessage());
        }
        return out;
    }
}
