package io.mesh.citadel.store;

import io.mesh.citadel.ca.IssuerMaterial;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * An operator's plug-in CA in Istio's {@code cacerts} layout: {@code ca-cert.pem} and {@code ca-key.pem} (the
 * intermediate that signs), {@code cert-chain.pem} and {@code root-cert.pem}. Read-only: citadel never writes here.
 */
public final class PluginCaFolder {

    private final Path folder;

    public PluginCaFolder(Path folder) {
        this.folder = folder;
    }

    public boolean present() {
        return Files.isRegularFile(folder.resolve(StoredCa.CA_CERT)) && Files.isRegularFile(folder.resolve(StoredCa.CA_KEY));
    }

    public IssuerMaterial load(Instant now) throws IOException, GeneralSecurityException {
        return StoredCa.fromMap(read()).toMaterial(now);
    }

    /** A digest of the four files, to notice a change without keeping key bytes around. */
    public String fingerprint() throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, String> e : new java.util.TreeMap<>(read()).entrySet()) {
                digest.update(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                digest.update(e.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public Path folder() {
        return folder;
    }

    private Map<String, String> read() throws IOException {
        Map<String, String> entries = new HashMap<>();
        for (String name : new String[] {StoredCa.CA_CERT, StoredCa.CA_KEY, StoredCa.CERT_CHAIN, StoredCa.ROOT_CERT}) {
            Path file = folder.resolve(name);
            if (Files.isRegularFile(file)) {
                entries.put(name, Files.readString(file));
            }
        }
        return entries;
    }
}
