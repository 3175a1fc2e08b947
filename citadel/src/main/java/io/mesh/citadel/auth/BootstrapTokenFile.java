package io.mesh.citadel.auth;

import io.mesh.citadel.ca.SpiffeId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Local mode's bootstrap tokens: a file that maps tokens to identities, one per line,
 * {@code <token> <namespace>/<service-account>}; blank lines and {@code #} comments are ignored. The file is
 * re-read when its modification time changes, so the runner may write it after citadel starts.
 *
 * <p>Only SHA-256 digests of the tokens are kept in memory, and lookups go by digest, so neither the tokens nor
 * their comparison timing are exposed. Lines that cannot be read are skipped with a log line that names the
 * line number, never its content.
 */
public final class BootstrapTokenFile implements TokenValidator {

    private static final Logger LOG = Logger.getLogger(BootstrapTokenFile.class);

    private record Loaded(FileTime modified, Map<String, SpiffeId> byDigest) {
    }

    private final Path file;
    private final String trustDomain;
    private volatile Loaded loaded = new Loaded(null, Map.of());

    public BootstrapTokenFile(Path file, String trustDomain) {
        this.file = file;
        this.trustDomain = trustDomain;
    }

    @Override
    public Optional<SpiffeId> validate(String token) {
        return Optional.ofNullable(current().byDigest().get(digest(token)));
    }

    public Path file() {
        return file;
    }

    private Loaded current() {
        Loaded seen = loaded;
        FileTime modified;
        try {
            modified = Files.getLastModifiedTime(file);
        } catch (NoSuchFileException e) {
            return seen.modified() == null ? seen : (loaded = new Loaded(null, Map.of()));
        } catch (IOException e) {
            return seen;
        }
        if (modified.equals(seen.modified())) {
            return seen;
        }
        synchronized (this) {
            if (!modified.equals(loaded.modified())) {
                loaded = read(modified);
            }
            return loaded;
        }
    }

    private Loaded read(FileTime modified) {
        Map<String, SpiffeId> byDigest = new HashMap<>();
        try {
            int number = 0;
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                number++;
                String trimmed = line.strip();
                if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                    continue;
                }
                String[] fields = trimmed.split("\\s+");
                String[] nsSa = fields.length == 2 ? fields[1].split("/") : new String[0];
                try {
                    if (nsSa.length != 2) {
                        throw new IllegalArgumentException("expected '<token> <namespace>/<service-account>'");
                    }
                    byDigest.put(digest(fields[0]), new SpiffeId(trustDomain, nsSa[0], nsSa[1]));
                } catch (IllegalArgumentException e) {
                    LOG.warnf("bootstrap token file %s, line %d skipped: expected '<token> <namespace>/<service-account>'",
                            file, number);
                }
            }
            LOG.infof("bootstrap token file %s: %d token(s)", file, byDigest.size());
        } catch (IOException e) {
            LOG.warnf("bootstrap token file %s cannot be read: %s", file, e.getClass().getSimpleName());
        }
        return new Loaded(modified, Map.copyOf(byDigest));
    }

    private static String digest(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
