package io.mesh.citadel.ca;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** A fresh self-signed CA, for tests in other packages. */
public final class CertificateIssuerTestSupport {

    private CertificateIssuerTestSupport() {
    }

    public static IssuerMaterial selfSigned() throws Exception {
        var keys = KeyAlgorithm.EC_P256.generate();
        var root = CertificateTemplates.selfSignedRoot(keys, "cluster.local", Duration.ofDays(365), Instant.now(),
                new SerialNumbers().next());
        return IssuerMaterial.checked(keys.getPrivate(), List.of(root), Instant.now());
    }
}
