package io.mesh.citadel.ca;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.HashMap;
import java.util.Map;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.conscrypt.Conscrypt;

/**
 * The provider that does the CA's signature math: verifying each CSR and signing each certificate. BouncyCastle
 * still builds the certificates and parses the CSRs; only the ECDSA/RSA arithmetic comes from here.
 *
 * <p>It is Conscrypt (BoringSSL) where its native library loads (Linux and macOS on x86_64), else BouncyCastle.
 * Why: those two operations are almost all of an issuance's CPU, and per CPU-second on P-256 Conscrypt signs
 * about 70k and verifies about 23k, BouncyCastle 13k and 6k, the JDK 17's SunEC 2.7k and 1.5k. Like
 * {@link BouncyCastle#PROVIDER}, the instance is passed explicitly and never registered, so nothing else in the
 * JVM (TLS included) changes provider.
 */
public final class Signatures {

    public static final Provider PROVIDER = choose();

    private Signatures() {
    }

    /**
     * {@code key} in the provider's own form. Conscrypt re-imports a foreign key (a BouncyCastle one, say) on every
     * signature, so the CA converts its key once per issuer, not once per certificate.
     */
    public static PrivateKey signingKey(PrivateKey key) throws GeneralSecurityException {
        // BouncyCastle names its EC keys "ECDSA"; every provider knows "EC".
        String algorithm = key instanceof ECKey ? "EC" : key.getAlgorithm();
        return KeyFactory.getInstance(algorithm, PROVIDER).generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
    }

    /** The public key of a CSR or certificate, read once by the provider that verifies with it. */
    public static PublicKey publicKey(SubjectPublicKeyInfo info, String algorithm) throws GeneralSecurityException {
        try {
            return KeyFactory.getInstance(algorithm, PROVIDER).generatePublic(new X509EncodedKeySpec(info.getEncoded()));
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException("unencodable public key", e);
        }
    }

    /** A key's SubjectPublicKeyInfo DER, read by the provider that verifies with it. */
    public static PublicKey publicKey(byte[] subjectPublicKeyInfo, String algorithm) throws GeneralSecurityException {
        return KeyFactory.getInstance(algorithm, PROVIDER).generatePublic(new X509EncodedKeySpec(subjectPublicKeyInfo));
    }

    /** One Signature per algorithm per thread, re-initialised for each key: looking one up costs more than the hash. */
    private static final ThreadLocal<Map<String, Signature>> VERIFIERS = ThreadLocal.withInitial(HashMap::new);

    /** Whether {@code signature} is {@code key}'s signature of {@code data[offset, offset + length)}. */
    public static boolean verify(String algorithm, PublicKey key, byte[] data, int offset, int length, byte[] signature)
            throws GeneralSecurityException {
        Map<String, Signature> verifiers = VERIFIERS.get();
        Signature verifier = verifiers.get(algorithm);
        if (verifier == null) {
            verifier = Signature.getInstance(algorithm, PROVIDER);
            verifiers.put(algorithm, verifier);
        }
        try {
            verifier.initVerify(key);
            verifier.update(data, offset, length);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            verifiers.remove(algorithm);
            throw e;
        }
    }

    private static Provider choose() {
        try {
            if (Conscrypt.isAvailable()) {
                return Conscrypt.newProvider();
            }
        } catch (LinkageError | RuntimeException e) {
            // No native library for this platform: fall through to the pure-Java provider.
        }
        return BouncyCastle.PROVIDER;
    }
}
