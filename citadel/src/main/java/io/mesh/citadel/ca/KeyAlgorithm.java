package io.mesh.citadel.ca;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.ECKey;
import java.security.spec.ECGenParameterSpec;

/** The key types this CA generates for itself: ECDSA P-256 (default) or RSA 2048. */
public enum KeyAlgorithm {
    EC_P256,
    RSA_2048;

    public KeyPair generate() {
        try {
            if (this == EC_P256) {
                KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", BouncyCastle.PROVIDER);
                generator.initialize(new ECGenParameterSpec("secp256r1"), BouncyCastle.random());
                return generator.generateKeyPair();
            }
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA", BouncyCastle.PROVIDER);
            generator.initialize(2048, BouncyCastle.random());
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate a " + this + " key", e);
        }
    }

    /** The signature algorithm a key of this kind signs certificates with. */
    public static String signatureAlgorithm(PrivateKey key) {
        if (key instanceof ECKey ec) {
            // P-384 issuers sign with SHA-384 so the hash is as strong as the curve.
            return ec.getParams().getCurve().getField().getFieldSize() > 256 ? "SHA384withECDSA" : "SHA256withECDSA";
        }
        return "SHA256withRSA";
    }
}
