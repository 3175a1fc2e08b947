package io.mesh.citadel.ca;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/**
 * What the CA signs with: its certificate and key, and the chain from that certificate up to the root. An
 * instance is checked when it is built and never changes, so the issuer can swap one for another atomically.
 *
 * @param chain the signing certificate first, then intermediates, then the root last (equal to the signing
 *     certificate when the CA is a self-signed root)
 */
public record IssuerMaterial(PrivateKey key, List<X509Certificate> chain) {

    public IssuerMaterial {
        chain = List.copyOf(chain);
    }

    /** Checks that the key matches, every certificate is a CA valid now, and each is signed by the next. */
    public static IssuerMaterial checked(PrivateKey key, List<X509Certificate> chain, Instant now)
            throws GeneralSecurityException {
        if (chain.isEmpty()) {
            throw new GeneralSecurityException("the CA chain is empty");
        }
        X509Certificate signer = chain.get(0);
        if (!keyMatches(key, signer)) {
            throw new GeneralSecurityException("the CA key does not match the CA certificate");
        }
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate cert = chain.get(i);
            cert.checkValidity(Date.from(now));
            if (cert.getBasicConstraints() < 0) {
                throw new GeneralSecurityException("not a CA certificate: " + cert.getSubjectX500Principal());
            }
            X509Certificate issuer = i + 1 < chain.size() ? chain.get(i + 1) : cert;
            cert.verify(issuer.getPublicKey(), BouncyCastle.PROVIDER);
        }
        return new IssuerMaterial(key, chain);
    }

    public X509Certificate certificate() {
        return chain.get(0);
    }

    public X509Certificate root() {
        return chain.get(chain.size() - 1);
    }

    /** Valid means every certificate of the chain is within its validity period at {@code now}. */
    public boolean validAt(Instant now) {
        return chain.stream().allMatch(c -> !now.isBefore(c.getNotBefore().toInstant())
                && !now.isAfter(c.getNotAfter().toInstant()));
    }

    /** The earliest notAfter of the chain: issued leaves never outlive it. */
    public Instant expiry() {
        return chain.stream().map(c -> c.getNotAfter().toInstant()).min(Instant::compareTo).orElseThrow();
    }

    private static boolean keyMatches(PrivateKey key, X509Certificate cert) throws GeneralSecurityException {
        // A test signature proves the pair without comparing key internals across providers.
        byte[] probe = "citadel key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        String algorithm = KeyAlgorithm.signatureAlgorithm(key);
        Signature signer = Signature.getInstance(algorithm, BouncyCastle.PROVIDER);
        signer.initSign(key);
        signer.update(probe);
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(algorithm, BouncyCastle.PROVIDER);
        verifier.initVerify(cert.getPublicKey());
        verifier.update(probe);
        return verifier.verify(signature);
    }

    @Override
    public String toString() {
        // Never print the key.
        return "IssuerMaterial[" + certificate().getSubjectX500Principal() + ", chain=" + chain.size() + "]";
    }
}
