package io.mesh.citadel.client;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.Optional;

/**
 * Workload keys (ECDSA P-256, in memory) and PEM CSRs for them, optionally naming a SPIFFE ID. The JDK alone:
 * SunEC makes the key and signs, and the PKCS#10 request (RFC 2986) is written by {@link Der}, so a sidecar loads
 * no ASN.1 library for the one CSR it sends per rotation.
 *
 * <p>The request: version 0, an empty subject, the key's own SubjectPublicKeyInfo (what
 * {@code PublicKey.getEncoded()} returns), and with a SPIFFE ID one extensionRequest attribute holding a critical
 * subjectAltName with that URI as its only name (critical because the subject is empty, RFC 5280 4.2.1.6); without
 * one, no attributes. Signed with SHA-256: ecdsa-with-SHA256 for EC keys, sha256WithRSAEncryption for RSA keys.
 */
public final class CsrBuilder {

    private static final SecureRandom RANDOM = new SecureRandom();

    private static final byte[] VERSION_0 = Der.smallInteger(0);
    private static final byte[] EMPTY_NAME = Der.sequence();
    private static final byte[] EXTENSION_REQUEST = Der.oid("1.2.840.113549.1.9.14");
    private static final byte[] SUBJECT_ALT_NAME = Der.oid("2.5.29.17");
    /** AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 3.2). */
    private static final byte[] ECDSA_WITH_SHA256 = Der.sequence(Der.oid("1.2.840.10045.4.3.2"));
    /** AlgorithmIdentifier sha256WithRSAEncryption, parameters NULL (RFC 4055 5). */
    private static final byte[] SHA256_WITH_RSA = Der.sequence(Der.oid("1.2.840.113549.1.1.11"), Der.NULL_VALUE);

    private static final String BEGIN = "-----BEGIN CERTIFICATE REQUEST-----\n";
    private static final String END = "\n-----END CERTIFICATE REQUEST-----\n";
    private static final Base64.Encoder PEM_BASE64 = Base64.getMimeEncoder(64, new byte[] {'\n'});

    private CsrBuilder() {
    }

    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate a P-256 key", e);
        }
    }

    /**
     * A PEM CSR signed by {@code keys}; with a SPIFFE ID, it is the CSR's only SAN.
     *
     * @throws IllegalArgumentException if the key is neither EC nor RSA, or the SPIFFE ID is not ASCII
     */
    public static String csr(KeyPair keys, Optional<String> spiffeId) {
        String keyAlgorithm = keys.getPrivate().getAlgorithm();
        boolean rsa = "RSA".equals(keyAlgorithm);
        if (!rsa && !"EC".equals(keyAlgorithm) && !"ECDSA".equals(keyAlgorithm)) {
            throw new IllegalArgumentException("cannot build a CSR for a " + keyAlgorithm + " key: use EC or RSA");
        }
        byte[] info = certificationRequestInfo(keys.getPublic().getEncoded(), spiffeId);
        byte[] signature;
        try {
            Signature signer = Signature.getInstance(rsa ? "SHA256withRSA" : "SHA256withECDSA");
            signer.initSign(keys.getPrivate(), RANDOM);
            signer.update(info);
            signature = signer.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a CSR: signing failed", e);
        }
        byte[] request = Der.sequence(info, rsa ? SHA256_WITH_RSA : ECDSA_WITH_SHA256, Der.bitString(signature));
        return BEGIN + new String(PEM_BASE64.encode(request), StandardCharsets.US_ASCII) + END;
    }

    /** The signed part: CertificationRequestInfo with an empty subject; {@code keyInfo} is written as it is. */
    static byte[] certificationRequestInfo(byte[] keyInfo, Optional<String> spiffeId) {
        byte[] attributes = spiffeId.map(CsrBuilder::sanRequest).orElse(new byte[0]);
        return Der.sequence(VERSION_0, EMPTY_NAME, keyInfo, Der.tlv(Der.CONTEXT_0_CONSTRUCTED, attributes));
    }

    /** Attribute { extensionRequest, SET { Extensions { Extension { subjectAltName, critical, GeneralNames } } } }. */
    private static byte[] sanRequest(String uri) {
        byte[] generalNames = Der.sequence(Der.tlv(Der.CONTEXT_6, Der.ia5(uri)));
        byte[] extension = Der.sequence(SUBJECT_ALT_NAME, Der.TRUE, Der.tlv(Der.OCTET_STRING, generalNames));
        return Der.sequence(EXTENSION_REQUEST, Der.tlv(Der.SET, Der.sequence(extension)));
    }
}
