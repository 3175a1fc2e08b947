package io.mesh.citadel.store;

import io.mesh.citadel.ca.CertificateTemplates;
import io.mesh.citadel.ca.IssuerMaterial;
import io.mesh.citadel.ca.KeyAlgorithm;
import io.mesh.citadel.ca.SerialNumbers;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Loads the stored self-signed root, or makes one on first start. The root is generated before the atomic
 * create, and the stored root (possibly another replica's) is what is used, so every replica signs with the
 * same root and a restart keeps it.
 */
public final class CaBootstrap {

    private CaBootstrap() {
    }

    public static IssuerMaterial loadOrCreate(CaStore store, KeyAlgorithm algorithm, String trustDomain,
            Duration rootTtl, Instant now) throws IOException, GeneralSecurityException {
        Optional<StoredCa> stored = store.load();
        if (stored.isPresent()) {
            return stored.get().toMaterial(now);
        }
        KeyPair keys = algorithm.generate();
        X509Certificate root = CertificateTemplates.selfSignedRoot(keys, trustDomain, rootTtl, now,
                new SerialNumbers().next());
        IssuerMaterial created = new IssuerMaterial(keys.getPrivate(), List.of(root));
        return store.createIfAbsent(StoredCa.selfSigned(created)).toMaterial(now);
    }
}
