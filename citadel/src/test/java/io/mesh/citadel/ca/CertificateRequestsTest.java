package io.mesh.citadel.ca;

import static io.mesh.citadel.Texts.assertContains;
import static io.mesh.citadel.Texts.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.TestKeys;
import java.security.KeyPair;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CertificateRequestsTest {

    static final String WEB = "spiffe://cluster.local/ns/default/sa/web";

    static CaException refused(String csr) {
        CaException e = assertThrows(CaException.class, () -> CertificateRequests.check(csr));
        assertEquals(CaException.Reason.INVALID_REQUEST, e.reason());
        return e;
    }

    @Test
    void aGoodCsrYieldsItsKeyAndRequestedNames() throws Exception {
        KeyPair keys = TestKeys.ec("secp256r1");

        var checked = CertificateRequests.check(TestKeys.csr(keys, keys, List.of(WEB, "dns:web.default.svc")));

        assertEquals(keys.getPublic(), checked.publicKey());
        assertEquals(List.of(WEB, "dns:web.default.svc"), checked.requestedNames());
    }

    @Test
    void aCsrWithoutSanAsksForNothing() throws Exception {
        assertTrue(CertificateRequests.check(TestKeys.csr(TestKeys.ec("secp384r1"), Optional.empty())).requestedNames().isEmpty());
    }

    @Test
    void theOlderNewCertificateRequestLabelAndTextAroundTheBlockAreAccepted() throws Exception {
        String csr = TestKeys.csr(TestKeys.ec("secp256r1"), Optional.of(WEB));
        String older = "made by an old tool\n" + csr.replace("CERTIFICATE REQUEST-----", "NEW CERTIFICATE REQUEST-----");

        assertEquals(List.of(WEB), CertificateRequests.check(older).requestedNames());
        assertStartsWith(refused(csr.replace("-----END CERTIFICATE REQUEST-----", "")).getMessage(),
                "malformed CSR: no PEM CERTIFICATE REQUEST block");
    }

    @Test
    void garbageIsRefusedAsMalformed() {
        assertStartsWith(refused("not a csr").getMessage(), "malformed CSR");
        assertStartsWith(refused("").getMessage(), "malformed CSR");
        assertStartsWith(refused("A".repeat(CertificateRequests.MAX_PEM_CHARS + 1)).getMessage(), "malformed CSR");
        assertStartsWith(refused("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
                .getMessage(), "malformed CSR");
    }

    @Test
    void aCsrSignedByAnotherKeyIsRefusedForItsSignature() throws Exception {
        String csr = TestKeys.csr(TestKeys.ec("secp256r1"), TestKeys.ec("secp256r1"), List.of(WEB));

        assertStartsWith(refused(csr).getMessage(), "bad CSR signature");
    }

    @Test
    void aChangedByteInTheSignedPartIsRefusedForItsSignature() throws Exception {
        String csr = TestKeys.csr(TestKeys.ec("secp256r1"), Optional.of(WEB));
        byte[] der = der(csr);
        // The subject O=test: "test" becomes "tesT", still well-formed, no longer what was signed.
        int at = new String(der, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("test");
        der[at + 3] = 'T';

        assertStartsWith(refused(pem(der)).getMessage(), "bad CSR signature");
    }

    @Test
    void rsaCsrsSignedWithSha256AreVerified() throws Exception {
        KeyPair keys = TestKeys.rsa(2048);

        assertEquals(List.of(WEB), CertificateRequests.check(TestKeys.csr(keys, keys, List.of(WEB))).requestedNames());
        assertStartsWith(refused(TestKeys.csr(keys, TestKeys.rsa(2048), List.of(WEB))).getMessage(), "bad CSR signature");
    }

    @Test
    void lessUsualSignatureAlgorithmsAreStillVerified() throws Exception {
        // SHA-1 ECDSA is not among the directly verified algorithms; BouncyCastle's verifier decides, as before.
        KeyPair keys = TestKeys.ec("secp256r1");

        assertEquals(keys.getPublic(), CertificateRequests.check(sha1Csr(keys, keys)).publicKey());
        assertStartsWith(refused(sha1Csr(keys, TestKeys.ec("secp256r1"))).getMessage(), "bad CSR signature");
    }

    private static String sha1Csr(KeyPair keys, KeyPair signer) throws Exception {
        var request = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                new org.bouncycastle.asn1.x500.X500Name("O=test"), keys.getPublic())
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA1withECDSA")
                        .setProvider(BouncyCastle.PROVIDER).build(signer.getPrivate()));
        return pem(request.getEncoded());
    }

    private static byte[] der(String pem) {
        return java.util.Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
    }

    private static String pem(byte[] der) {
        return "-----BEGIN CERTIFICATE REQUEST-----\n" + java.util.Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END CERTIFICATE REQUEST-----\n";
    }

    @Test
    void rsaKeysShorterThan2048BitsAreRefusedAsWeak() throws Exception {
        KeyPair weak = TestKeys.rsa(1024);

        assertContains(refused(TestKeys.csr(weak, Optional.of(WEB))).getMessage(), "weak key", "1024");
        assertEquals(List.of(WEB), CertificateRequests.check(TestKeys.csr(TestKeys.rsa(2048), Optional.of(WEB))).requestedNames());
    }

    @Test
    void curvesOtherThanP256AndP384AreRefusedAsWeak() throws Exception {
        assertContains(refused(TestKeys.csr(TestKeys.ec("secp256k1"), Optional.of(WEB))).getMessage(), "weak key", "curve");
        assertContains(refused(TestKeys.csr(TestKeys.ec("secp224r1"), Optional.of(WEB))).getMessage(), "weak key");
    }
}
