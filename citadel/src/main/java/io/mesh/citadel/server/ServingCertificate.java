package io.mesh.citadel.server;

import io.mesh.citadel.ca.CaException;
import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.KeyAlgorithm;
import io.mesh.citadel.ca.SpiffeId;
import io.mesh.citadel.client.CertifiedKey;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * citadel's own TLS certificate, issued by citadel itself for {@code citadel.istio-system.svc} and the local
 * names. It is re-issued lazily at the next handshake after half its life, or after the issuer rotated, so the
 * server never presents a certificate its current root does not verify.
 */
public final class ServingCertificate {

    private static final Logger LOG = Logger.getLogger(ServingCertificate.class);
    static final Duration TTL = Duration.ofHours(24);

    private record Issued(CertifiedKey key, Object issuerIdentity, Instant renewAt) {
    }

    private final CertificateIssuer issuer;
    private final SpiffeId identity;
    private final List<String> dnsNames;
    private final List<String> ipAddresses;
    private final AtomicReference<Issued> current = new AtomicReference<>();

    public ServingCertificate(CertificateIssuer issuer, SpiffeId identity, List<String> dnsNames, List<String> ipAddresses) {
        this.issuer = issuer;
        this.identity = identity;
        this.dnsNames = List.copyOf(dnsNames);
        this.ipAddresses = List.copyOf(ipAddresses);
    }

    /** The certificate to present now, re-issued first if it is due. Empty only if the CA cannot sign. */
    public Optional<CertifiedKey> current() {
        Issued seen = current.get();
        if (seen != null && seen.issuerIdentity() == issuer.material() && issuer.clock().instant().isBefore(seen.renewAt())) {
            return Optional.of(seen.key());
        }
        synchronized (this) {
            seen = current.get();
            if (seen == null || seen.issuerIdentity() != issuer.material() || !issuer.clock().instant().isBefore(seen.renewAt())) {
                try {
                    seen = issue();
                    current.set(seen);
                } catch (CaException e) {
                    LOG.errorf("cannot issue citadel's serving certificate: %s", e.getMessage());
                    return Optional.ofNullable(seen).map(Issued::key);
                }
            }
            return Optional.of(seen.key());
        }
    }

    private Issued issue() throws CaException {
        Object material = issuer.material();
        KeyPair keys = KeyAlgorithm.EC_P256.generate();
        var chain = issuer.issue(keys.getPublic(), identity, dnsNames, ipAddresses, TTL);
        CertifiedKey key = new CertifiedKey(keys.getPrivate(), chain.chain());
        Duration life = Duration.between(key.notBefore(), key.notAfter());
        return new Issued(key, material, key.notBefore().plus(life.dividedBy(2)));
    }
}
