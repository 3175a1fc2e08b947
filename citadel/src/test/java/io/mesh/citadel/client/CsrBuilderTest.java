package io.mesh.citadel.client;

import static io.mesh.citadel.Texts.assertContains;
import static io.mesh.citadel.Texts.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.Openssl;
import io.mesh.citadel.ca.CaException;
import io.mesh.citadel.ca.CertificateRequests;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPublicKey;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The workload CSR, written with the JDK alone, read by its real consumers: openssl's {@code req -verify}, the CA's
 * own {@link CertificateRequests#check}, and BouncyCastle (which built these requests before, and still parses them
 * in the CA).
 */
class CsrBuilderTest {

    static final String ID = "spiffe://cluster.local/ns/default/sa/web";

    static KeyPair rsa;

    @TempDir
    Path dir;

    @BeforeAll
    static void rsaKey() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        rsa = generator.generateKeyPair();
    }

    String openssl(String csr, String... args) throws Exception {
        Files.writeString(dir.resolve("req.pem"), csr);
        List<String> command = new java.util.ArrayList<>(List.of("req", "-in", "req.pem", "-noout"));
        command.addAll(List.of(args));
        return Openssl.ok(dir, command.toArray(String[]::new));
    }

    static void assertMatches(String text, String regex) {
        assertTrue(Pattern.compile(regex, Pattern.MULTILINE).matcher(text).find(),
                "expected /" + regex + "/ in:\n" + text);
    }

    @Test
    void opensslVerifiesTheSidecarsCsrAndReadsAnEmptySubjectAP256KeyAndOneCriticalUriSan() throws Exception {
        KeyPair keys = CsrBuilder.newKeyPair();
        String csr = CsrBuilder.csr(keys, Optional.of(ID));

        String text = openssl(csr, "-verify", "-text");

        assertContains(text, "self-signature verify OK", "Public Key Algorithm: id-ecPublicKey", "ASN1 OID: prime256v1",
                "NIST CURVE: P-256", "Signature Algorithm: ecdsa-with-SHA256");
        assertMatches(text, "^\\s*Subject:\\s*$");
        assertMatches(text, "X509v3 Subject Alternative Name: critical\\n\\s*URI:" + Pattern.quote(ID) + "\\s*$");
        assertEquals("EC", keys.getPublic().getAlgorithm());
        assertEquals(256, ((ECPublicKey) keys.getPublic()).getParams().getOrder().bitLength());
    }

    @Test
    void theCsrIsPemWith64CharacterLinesAndATrailingNewline() {
        String csr = CsrBuilder.csr(rsa, Optional.of(ID));
        List<String> lines = csr.lines().toList();

        assertEquals("-----BEGIN CERTIFICATE REQUEST-----", lines.get(0));
        assertEquals("-----END CERTIFICATE REQUEST-----", lines.get(lines.size() - 1));
        assertTrue(csr.endsWith("-----\n") && !csr.endsWith("\n\n"), csr);
        List<String> body = lines.subList(1, lines.size() - 1);
        body.subList(0, body.size() - 1).forEach(line -> assertEquals(64, line.length(), line));
        assertTrue(body.get(body.size() - 1).length() <= 64);
        assertFalse(csr.contains("\r"));
    }

    @Test
    void withoutAnIdentityTheRequestHasNoSanAndAnEmptyAttributeSet() throws Exception {
        String csr = CsrBuilder.csr(CsrBuilder.newKeyPair(), Optional.empty());

        String text = openssl(csr, "-verify", "-text");
        assertContains(text, "self-signature verify OK");
        assertFalse(text.contains("Subject Alternative Name"), text);
        // RFC 2986: attributes is not OPTIONAL, so an empty [0] is written (as BouncyCastle did).
        String structure = Openssl.ok(dir, "asn1parse", "-in", "req.pem", "-i");
        assertMatches(structure, "d=2\\s+hl=2 l=\\s*0 cons:\\s+cont \\[ 0 \\]");
    }

    @Test
    void rsa2048RequestsWithTheirLongFormLengthsVerifyInOpenssl() throws Exception {
        String text = openssl(CsrBuilder.csr(rsa, Optional.of(ID)), "-verify", "-text");

        assertContains(text, "self-signature verify OK", "Public-Key: (2048 bit)",
                "Signature Algorithm: sha256WithRSAEncryption");
        assertMatches(text, "X509v3 Subject Alternative Name: critical\\n\\s*URI:" + Pattern.quote(ID) + "\\s*$");
        // The request (~650 bytes) and its info (~370) take two-byte lengths; the signature is 256 bytes.
        String structure = Openssl.ok(dir, "asn1parse", "-in", "req.pem");
        assertMatches(structure, "^\\s*0:d=0\\s+hl=4 l=\\s*6\\d\\d cons: SEQUENCE");
        assertMatches(structure, "^\\s*4:d=1\\s+hl=4 l=\\s*3\\d\\d cons: SEQUENCE");
        assertMatches(structure, "d=1\\s+hl=4 l=\\s*257 prim: BIT STRING");
    }

    @Test
    void theCasOwnCheckAcceptsEcAndRsaRequestsWithAndWithoutAnIdentity() throws Exception {
        for (KeyPair keys : List.of(CsrBuilder.newKeyPair(), rsa)) {
            var named = CertificateRequests.check(CsrBuilder.csr(keys, Optional.of(ID)));
            var bare = CertificateRequests.check(CsrBuilder.csr(keys, Optional.empty()));

            assertEquals(List.of(ID), named.requestedNames());
            assertEquals(keys.getPublic(), named.publicKey());
            assertEquals(List.of(), bare.requestedNames());
            assertEquals(keys.getPublic(), bare.publicKey());
        }
    }

    @Test
    void aLongIdentityNeedsTwoByteLengthsInsideTheExtensionAndStillParses() throws Exception {
        String longId = "spiffe://cluster.local/ns/" + "n".repeat(150) + "/sa/" + "s".repeat(150);
        for (KeyPair keys : List.of(CsrBuilder.newKeyPair(), rsa)) {
            String csr = CsrBuilder.csr(keys, Optional.of(longId));

            assertEquals(List.of(longId), CertificateRequests.check(csr).requestedNames());
            assertContains(openssl(csr, "-verify", "-text"), "self-signature verify OK", "URI:" + longId);
        }
    }

    @Test
    void aRequestSignedByAnotherKeyThanTheOneItCarriesIsRefused() throws Exception {
        KeyPair carried = CsrBuilder.newKeyPair();
        KeyPair signer = CsrBuilder.newKeyPair();
        String forged = CsrBuilder.csr(new KeyPair(carried.getPublic(), signer.getPrivate()), Optional.of(ID));

        CaException e = assertThrows(CaException.class, () -> CertificateRequests.check(forged));
        assertEquals(CaException.Reason.INVALID_REQUEST, e.reason());
        assertStartsWith(e.getMessage(), "bad CSR signature");
        Files.writeString(dir.resolve("forged.pem"), forged);
        // openssl 3.0's req -verify exits 0 either way; its verdict is in the output.
        String verdict = Openssl.run(dir, "req", "-in", "forged.pem", "-noout", "-verify").output();
        assertContains(verdict, "self-signature verify failure");
        assertFalse(verdict.contains("verify OK"), verdict);

        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        String forgedRsa = CsrBuilder.csr(new KeyPair(rsa.getPublic(), generator.generateKeyPair().getPrivate()),
                Optional.empty());
        assertStartsWith(assertThrows(CaException.class, () -> CertificateRequests.check(forgedRsa)).getMessage(),
                "bad CSR signature");
    }

    @Test
    void anRsaRequestIsByteForByteTheOneBouncyCastleBuilt() throws Exception {
        // PKCS#1 v1.5 signatures are deterministic, so the whole PEM must match the previous implementation's.
        assertEquals(bouncyCastleCsr(rsa, Optional.of(ID)), CsrBuilder.csr(rsa, Optional.of(ID)));
        assertEquals(bouncyCastleCsr(rsa, Optional.empty()), CsrBuilder.csr(rsa, Optional.empty()));
    }

    @Test
    void anEcRequestSignsTheSameCertificationRequestInfoBouncyCastleBuilt() throws Exception {
        KeyPair keys = CsrBuilder.newKeyPair();
        for (Optional<String> id : List.of(Optional.of(ID), Optional.<String>empty())) {
            PKCS10CertificationRequest ours = parse(CsrBuilder.csr(keys, id));
            PKCS10CertificationRequest theirs = parse(bouncyCastleCsr(keys, id));

            assertArrayEquals(theirs.toASN1Structure().getCertificationRequestInfo().getEncoded("DER"),
                    ours.toASN1Structure().getCertificationRequestInfo().getEncoded("DER"));
            assertEquals(theirs.getSignatureAlgorithm(), ours.getSignatureAlgorithm());
        }
    }

    @Test
    void derLengthsAndObjectIdentifiersMatchBouncyCastlesEncoding() throws Exception {
        for (int length : new int[] {0, 1, 127, 128, 255, 256, 300, 65535, 65536, 70000}) {
            byte[] content = new byte[length];
            assertArrayEquals(new DEROctetString(content).getEncoded(), Der.tlv(Der.OCTET_STRING, content),
                    "length " + length);
        }
        for (String oid : List.of("1.2.840.113549.1.9.14", "2.5.29.17", "1.2.840.10045.4.3.2",
                "1.2.840.113549.1.1.11", "2.999.3", "1.3.6.1.4.1.2147483648.16384")) {
            assertArrayEquals(new ASN1ObjectIdentifier(oid).getEncoded(), Der.oid(oid), oid);
        }
        assertThrows(IllegalArgumentException.class, () -> Der.oid("3.1"));
        assertThrows(IllegalArgumentException.class, () -> Der.oid("1"));
    }

    @Test
    void unsupportedKeysAndNonAsciiIdentitiesAreRefusedByName() throws Exception {
        KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        assertStartsWith(assertThrows(IllegalArgumentException.class, () -> CsrBuilder.csr(ed, Optional.empty()))
                .getMessage(), "cannot build a CSR for a EdDSA key");
        assertStartsWith(assertThrows(IllegalArgumentException.class,
                () -> CsrBuilder.csr(CsrBuilder.newKeyPair(), Optional.of("spiffe://cluster.local/ns/é/sa/b")))
                .getMessage(), "not an IA5 (ASCII) string");
    }

    static PKCS10CertificationRequest parse(String pem) throws Exception {
        String body = pem.replace("-----BEGIN CERTIFICATE REQUEST-----", "")
                .replace("-----END CERTIFICATE REQUEST-----", "");
        return new PKCS10CertificationRequest(Base64.getMimeDecoder().decode(body));
    }

    /** The request as CsrBuilder built it with BouncyCastle until the sidecar dropped it. */
    static String bouncyCastleCsr(KeyPair keys, Optional<String> spiffeId) throws Exception {
        var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name(new RDN[0]), keys.getPublic());
        if (spiffeId.isPresent()) {
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            extensions.addExtension(Extension.subjectAlternativeName, true,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, spiffeId.get())));
            builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
        }
        String algorithm = "RSA".equals(keys.getPrivate().getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
        var request = builder.build(new JcaContentSignerBuilder(algorithm).build(keys.getPrivate()));
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(request);
        }
        return out.toString();
    }
}
