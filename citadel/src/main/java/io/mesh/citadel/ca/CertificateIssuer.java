package io.mesh.citadel.ca;

import io.mesh.citadel.ca.CertificateTemplates.Signer;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Signs leaves with the current {@link IssuerMaterial}. The material is swapped atomically on rotation: a request
 * reads the state once and signs with it, so in-flight requests finish with the issuer they started with and
 * none fails. Thread-safe.
 *
 * <p>Invariants: serial numbers are never reused ({@link SerialNumbers}); a leaf never outlives its issuer's
 * chain; the trust bundle always holds the current root, plus, after a rotation, the previous roots until they
 * expire, so peers holding old leaves keep verifying during the overlap.
 */
public final class CertificateIssuer {

    /**
     * One consistent view: what signs, the roots peers should trust, and what every leaf shares, prepared once per
     * issuer rather than per request: the signer, the issuer's PEM, and the chain's validity (an X509Certificate
     * may parse its dates on every call).
     */
    private record State(IssuerMaterial material, List<X509Certificate> trustBundle, Signer signer,
            List<String> issuerPems, List<byte[]> issuerPemsAscii, Instant validFrom, Instant expiry) {
        State(IssuerMaterial material, List<X509Certificate> trustBundle) throws GeneralSecurityException {
            this(material, trustBundle, Signer.of(material), material.chain().stream().map(Pem::encode).toList(),
                    material.chain().stream().map(c -> Pem.encode(c).getBytes(StandardCharsets.US_ASCII)).toList(),
                    material.chain().stream().map(c -> c.getNotBefore().toInstant()).max(Instant::compareTo).orElseThrow(),
                    material.expiry());
        }

        State withTrustBundle(List<X509Certificate> bundle) {
            return new State(material, bundle, signer, issuerPems, issuerPemsAscii, validFrom, expiry);
        }

        boolean validAt(Instant now) {
            return !now.isBefore(validFrom) && !now.isAfter(expiry);
        }
    }

    /**
     * A leaf (DER) and what a peer needs to verify it: intermediates → root. The gRPC path only needs the PEM, so
     * the leaf is decoded into an {@link X509Certificate} only when someone asks for it.
     */
    public record IssuedChain(byte[] leafDer, List<X509Certificate> issuers, List<String> issuerPems,
            List<byte[]> issuerPemsAscii) {

        public X509Certificate leaf() {
            try {
                return (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(leafDer));
            } catch (CertificateException e) {
                throw new IllegalStateException("the CA produced an unreadable certificate", e);
            }
        }

        /** leaf → intermediates → root. */
        public List<X509Certificate> chain() {
            List<X509Certificate> chain = new ArrayList<>(issuers.size() + 1);
            chain.add(leaf());
            chain.addAll(issuers);
            return List.copyOf(chain);
        }

        /** The chain as PEM, one certificate per entry, leaf first: Istio's cert_chain. */
        public List<String> pem() {
            List<String> out = new ArrayList<>(issuerPems.size() + 1);
            out.add(Pem.encode(leafDer));
            out.addAll(issuerPems);
            return out;
        }

        /**
         * {@link #pem()} as ASCII bytes (the issuers' prepared once per issuer), for the gRPC answer: the bytes go on
         * the wire as they are, with no String to encode. The arrays are shared: callers must not change them.
         */
        public List<byte[]> pemAscii() {
            List<byte[]> out = new ArrayList<>(issuerPemsAscii.size() + 1);
            out.add(Pem.encodeAscii(leafDer));
            out.addAll(issuerPemsAscii);
            return out;
        }
    }

    private final AtomicReference<State> state = new AtomicReference<>();
    private final List<Consumer<List<X509Certificate>>> bundleListeners = new CopyOnWriteArrayList<>();
    private final SerialNumbers serials = new SerialNumbers();
    private final TtlPolicy ttlPolicy;
    private final Clock clock;

    public CertificateIssuer(IssuerMaterial material, TtlPolicy ttlPolicy, Clock clock)
            throws GeneralSecurityException {
        this.ttlPolicy = ttlPolicy;
        this.clock = clock;
        state.set(new State(material, List.of(material.root())));
    }

    /** Signs a leaf for {@code identity}; {@code requestedSeconds} is clamped by the TTL policy. */
    public IssuedChain issue(PublicKey key, SpiffeId identity, long requestedSeconds) throws CaException {
        return issue(key, identity, List.of(), List.of(), ttlPolicy.clamp(requestedSeconds));
    }

    /** Like {@link #issue(PublicKey, SpiffeId, long)}, with DNS and IP names: only for citadel's own cert. */
    public IssuedChain issue(PublicKey key, SpiffeId identity, List<String> dnsNames, List<String> ipAddresses,
            Duration ttl) throws CaException {
        State current = state.get();
        Instant now = clock.instant();
        if (!current.validAt(now)) {
            throw new CaException(CaException.Reason.UNAVAILABLE, "the CA certificate is not valid now");
        }
        Instant notAfter = now.plus(ttl);
        if (notAfter.isAfter(current.expiry())) {
            notAfter = current.expiry();
        }
        try {
            byte[] leaf = CertificateTemplates.leaf(current.signer(), key, identity, dnsNames, ipAddresses,
                    now.minus(CertificateTemplates.BACKDATE), notAfter, serials.next());
            return new IssuedChain(leaf, current.material().chain(), current.issuerPems(), current.issuerPemsAscii());
        } catch (GeneralSecurityException e) {
            throw new CaException(CaException.Reason.UNAVAILABLE, "signing failed", e);
        }
    }

    /**
     * Makes {@code next} the signer. The new trust bundle is the new root first, then every earlier root that has
     * not expired, so both old and new leaves verify during the overlap.
     */
    public void rotate(IssuerMaterial next) throws GeneralSecurityException {
        State prepared = new State(next, List.of(next.root()));
        Instant now = clock.instant();
        State updated = state.updateAndGet(previous -> {
            Set<X509Certificate> bundle = new LinkedHashSet<>();
            bundle.add(next.root());
            previous.trustBundle().stream().filter(r -> r.getNotAfter().toInstant().isAfter(now)).forEach(bundle::add);
            return prepared.withTrustBundle(List.copyOf(bundle));
        });
        bundleListeners.forEach(l -> l.accept(updated.trustBundle()));
    }

    public IssuerMaterial material() {
        return state.get().material();
    }

    /** The roots peers should trust, newest first. */
    public List<X509Certificate> trustBundle() {
        return state.get().trustBundle();
    }

    /** Called with the new bundle after every rotation (and once now), for root distribution. */
    public void onTrustBundle(Consumer<List<X509Certificate>> listener) {
        bundleListeners.add(listener);
        listener.accept(trustBundle());
    }

    public boolean validNow() {
        return state.get().validAt(clock.instant());
    }

    public Clock clock() {
        return clock;
    }

    public TtlPolicy ttlPolicy() {
        return ttlPolicy;
    }
}
