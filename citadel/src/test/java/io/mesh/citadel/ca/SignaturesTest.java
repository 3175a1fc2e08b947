package io.mesh.citadel.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.TestKeys;
import java.security.KeyPair;
import java.security.Signature;
import java.util.Optional;
import org.conscrypt.Conscrypt;
import org.junit.jupiter.api.Test;

class SignaturesTest {

    @Test
    void theSignatureMathIsConscryptWhereItsNativeLibraryLoads() {
        // The uber jar ships Linux and macOS x86_64 libraries; elsewhere the CA falls back to BouncyCastle.
        String expected = Conscrypt.isAvailable() ? "Conscrypt" : BouncyCastle.PROVIDER.getName();

        assertEquals(expected, Signatures.PROVIDER.getName());
    }

    @Test
    void aCsrKeyIsReadByTheSignatureProviderAndStillVerifiesElsewhere() throws Exception {
        KeyPair keys = TestKeys.ec("secp256r1");
        var checked = CertificateRequests.check(TestKeys.csr(keys, Optional.empty()));
        if (Conscrypt.isAvailable()) {
            assertTrue(checked.publicKey().getClass().getName().startsWith("org.conscrypt."), "decoded once, by Conscrypt");
        }

        // A signature made by BouncyCastle verifies with the key as the provider read it: the same key.
        Signature signer = Signature.getInstance("SHA256withECDSA", BouncyCastle.PROVIDER);
        signer.initSign(keys.getPrivate());
        signer.update(new byte[] {1, 2, 3});
        Signature verifier = Signature.getInstance("SHA256withECDSA", Signatures.PROVIDER);
        verifier.initVerify(checked.publicKey());
        verifier.update(new byte[] {1, 2, 3});
        assertTrue(verifier.verify(signer.sign()));
    }

    @Test
    void theIssuerKeyIsConvertedOnceIntoTheProvidersOwnForm() throws Exception {
        for (KeyAlgorithm algorithm : KeyAlgorithm.values()) {
            KeyPair keys = algorithm.generate();
            var converted = Signatures.signingKey(keys.getPrivate());

            Signature signer = Signature.getInstance(KeyAlgorithm.signatureAlgorithm(keys.getPrivate()), Signatures.PROVIDER);
            signer.initSign(converted);
            signer.update(new byte[] {4, 5, 6});
            Signature verifier = Signature.getInstance(KeyAlgorithm.signatureAlgorithm(keys.getPrivate()), BouncyCastle.PROVIDER);
            verifier.initVerify(keys.getPublic());
            verifier.update(new byte[] {4, 5, 6});
            assertTrue(verifier.verify(signer.sign()), algorithm + ": BouncyCastle verifies what the converted key signed");
        }
    }
}
