package io.mesh.citadel.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.TestKeys;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The leaf is assembled from DER parts ({@link CertificateTemplates#leaf}); its to-be-signed part must be exactly
 * what BouncyCastle's certificate builder makes from the same fields, and the whole must parse and verify with the
 * JDK and BouncyCastle. Issuers of both key types, with and without DNS and IP names, short and long validity.
 */
class LeafEncodingTest {

    enum Names { SPIFFE_ONLY, WITH_DNS_AND_IPS }

    @ParameterizedTest
    @EnumSource(KeyAlgorithm.class)
    void aWorkloadLeafIsWhatTheBouncyCastleBuilderMakes(KeyAlgorithm algorithm) throws Exception {
        check(algorithm, Names.SPIFFE_ONLY, Instant.parse("2026-03-04T05:06:07Z"), Instant.parse("2026-03-05T05:06:07Z"));
    }

    @ParameterizedTest
    @EnumSource(KeyAlgorithm.class)
    void aServingLeafWithManyNamesAndAGeneralizedTimeExpiryToo(KeyAlgorithm algorithm) throws Exception {
        // Many names make the SAN and the to-be-signed part longer than 255 bytes (a three-byte DER length).
        check(algorithm, Names.WITH_DNS_AND_IPS, Instant.parse("2049-12-31T23:00:00Z"), Instant.parse("2050-01-02T00:00:00Z"));
    }

    private void check(KeyAlgorithm algorithm, Names names, Instant notBefore, Instant notAfter) throws Exception {
        IssuerMaterial issuer = CertificateIssuerTest.selfSigned(algorithm, Instant.parse("2026-01-01T00:00:00Z"));
        KeyPair subject = TestKeys.ec("secp256r1");
        // The key as the CA sees it: read from the CSR by the signature provider.
        PublicKey key = CertificateRequests.check(TestKeys.csr(subject, java.util.Optional.empty())).publicKey();
        SpiffeId id = new SpiffeId("cluster.local", "shop", "checkout");
        List<String> dns = names == Names.SPIFFE_ONLY ? List.of()
                : List.of("istio-citadel.istio-system.svc", "citadel.istio-system.svc.cluster.local", "localhost", "citadel");
        List<String> ips = names == Names.SPIFFE_ONLY ? List.of() : List.of("127.0.0.1", "::1");
        BigInteger serial = new SerialNumbers().next();

        byte[] leaf = CertificateTemplates.leaf(CertificateTemplates.Signer.of(issuer), key, id, dns, ips,
                notBefore, notAfter, serial);

        X509CertificateHolder built = new X509CertificateHolder(leaf);
        X509CertificateHolder expected = bouncyCastleLeaf(issuer, key, id, dns, ips, notBefore, notAfter, serial);
        assertArrayEquals(expected.toASN1Structure().getTBSCertificate().getEncoded(ASN1Encoding.DER),
                built.toASN1Structure().getTBSCertificate().getEncoded(ASN1Encoding.DER));
        assertEquals(expected.getSignatureAlgorithm(), built.getSignatureAlgorithm());
        assertArrayEquals(built.getEncoded(), leaf, "the leaf is DER (it re-encodes to itself)");
        assertTrue(built.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(BouncyCastle.PROVIDER)
                .build(issuer.certificate())));

        X509Certificate parsed = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(leaf));
        parsed.verify(issuer.certificate().getPublicKey());
        assertEquals(serial, parsed.getSerialNumber());
        assertEquals(notAfter, parsed.getNotAfter().toInstant());
        assertEquals(notBefore, parsed.getNotBefore().toInstant());
        assertEquals(List.of("serverAuth", "clientAuth").size(), parsed.getExtendedKeyUsage().size());
        assertEquals(1 + dns.size() + ips.size(), parsed.getSubjectAlternativeNames().size());
        assertTrue(parsed.getCriticalExtensionOIDs().contains(Extension.subjectAlternativeName.getId()));
    }

    /** The leaf as the earlier builder-based code made it. */
    private static X509CertificateHolder bouncyCastleLeaf(IssuerMaterial issuer, PublicKey key, SpiffeId id,
            List<String> dns, List<String> ips, Instant notBefore, Instant notAfter, BigInteger serial) throws Exception {
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString()));
        dns.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
        ips.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
        X509v3CertificateBuilder builder = new X509v3CertificateBuilder(
                X500Name.getInstance(issuer.certificate().getSubjectX500Principal().getEncoded()), serial,
                CertificateTemplates.time(notBefore), CertificateTemplates.time(notAfter), new X500Name(new RDN[0]),
                SubjectPublicKeyInfo.getInstance(key.getEncoded()))
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                        new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                .addExtension(Extension.authorityKeyIdentifier, false, CertificateTemplates.authorityKeyId(issuer.certificate()))
                .addExtension(Extension.subjectAlternativeName, true, new GeneralNames(names.toArray(GeneralName[]::new)));
        return builder.build(new JcaContentSignerBuilder(KeyAlgorithm.signatureAlgorithm(issuer.key()))
                .setProvider(BouncyCastle.PROVIDER).build(issuer.key()));
    }
}
