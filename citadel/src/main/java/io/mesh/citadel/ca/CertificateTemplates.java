package io.mesh.citadel.ca;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.BERTags;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The two shapes of certificate this CA makes: a self-signed root, and a workload leaf. Extensions follow
 * RFC 5280 and Istio's: roots are CA:true with keyCertSign/cRLSign; leaves have an empty subject, the SPIFFE
 * URI as a critical SAN, serverAuth + clientAuth, and digitalSignature + keyEncipherment.
 */
public final class CertificateTemplates {

    /** Backdating absorbs clock skew between the CA and the peers that verify its certificates. */
    public static final Duration BACKDATE = Duration.ofMinutes(5);

    private static final DateTimeFormatter UTC_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'");
    private static final DateTimeFormatter GENERALIZED_TIME = DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'");

    private static final JcaX509ExtensionUtils EXTENSIONS;

    static {
        try {
            EXTENSIONS = new JcaX509ExtensionUtils();
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private CertificateTemplates() {
    }

    /** A self-signed root CA for the trust domain, valid from now (backdated) for {@code ttl}. */
    public static X509Certificate selfSignedRoot(KeyPair keys, String trustDomain, Duration ttl, Instant now,
            BigInteger serial) throws GeneralSecurityException {
        X500Name subject = new X500Name("O=" + trustDomain + ",CN=citadel root CA");
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial,
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(ttl)), subject, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            EXTENSIONS.createSubjectKeyIdentifier(keys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            EXTENSIONS.createAuthorityKeyIdentifier(keys.getPublic()));
            return new JcaX509CertificateConverter().setProvider(BouncyCastle.PROVIDER).getCertificate(
                    sign(builder, Signatures.signingKey(keys.getPrivate()), KeyAlgorithm.signatureAlgorithm(keys.getPrivate())));
        } catch (CertIOException e) {
            throw new GeneralSecurityException("cannot build the root certificate", e);
        }
    }

    /**
     * What every leaf of one issuer shares, prepared once per issuer rather than per leaf: the issuer's name, the
     * signature algorithm's identifier and the extensions that never vary (basic constraints, key usage, extended
     * key usage, authority key identifier), all as DER; the key in {@link Signatures#PROVIDER}'s form; and one
     * {@link Signature} per thread, initialised with that key (a Signature is ready again after each signature).
     */
    public static final class Signer {

        private final byte[] issuerName;
        private final byte[] algorithmId;
        private final byte[] fixedExtensions;
        private final PrivateKey key;
        private final String algorithm;
        private final ThreadLocal<Signature> signatures;

        private Signer(byte[] issuerName, byte[] algorithmId, byte[] fixedExtensions, PrivateKey key, String algorithm) {
            this.issuerName = issuerName;
            this.algorithmId = algorithmId;
            this.fixedExtensions = fixedExtensions;
            this.key = key;
            this.algorithm = algorithm;
            this.signatures = ThreadLocal.withInitial(() -> {
                try {
                    return newSignature();
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException("cannot sign with the CA key", e);
                }
            });
        }

        public static Signer of(IssuerMaterial issuer) throws GeneralSecurityException {
            X509Certificate certificate = issuer.certificate();
            String algorithm = KeyAlgorithm.signatureAlgorithm(issuer.key());
            try {
                byte[] fixed = Der.concat(
                        extension(Extension.basicConstraints, true, new BasicConstraints(false)),
                        extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment)),
                        extension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                                new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth})),
                        extension(Extension.authorityKeyIdentifier, false, authorityKeyId(certificate)));
                Signer signer = new Signer(
                        X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()).getEncoded(ASN1Encoding.DER),
                        new DefaultSignatureAlgorithmIdentifierFinder().find(algorithm).getEncoded(ASN1Encoding.DER),
                        fixed, Signatures.signingKey(issuer.key()), algorithm);
                signer.newSignature(); // fails now, not at the first issuance, if this key cannot sign
                return signer;
            } catch (IOException | IllegalArgumentException e) {
                throw new GeneralSecurityException("cannot prepare the CA's signer", e);
            }
        }

        private Signature newSignature() throws GeneralSecurityException {
            Signature signature = Signature.getInstance(algorithm, Signatures.PROVIDER);
            signature.initSign(key, BouncyCastle.random());
            return signature;
        }

        byte[] sign(byte[] data) throws GeneralSecurityException {
            Signature signature = signatures.get();
            try {
                signature.update(data);
                return signature.sign();
            } catch (GeneralSecurityException | RuntimeException e) {
                // Its state is unknown now: the next signature on this thread starts from a fresh one.
                signatures.remove();
                throw e;
            }
        }

        private static byte[] extension(ASN1ObjectIdentifier id, boolean critical, ASN1Encodable value) throws IOException {
            return Extension.create(id, critical, value).getEncoded(ASN1Encoding.DER);
        }
    }

    /** DER of TBSCertificate's version field: [0] EXPLICIT INTEGER 2 (v3). */
    private static final byte[] VERSION_3 = {(byte) 0xA0, 0x03, 0x02, 0x01, 0x02};
    /** DER of an empty Name: a leaf's subject (its identity is in the SAN). */
    private static final byte[] EMPTY_NAME = {0x30, 0x00};
    /** A BIT STRING's leading octet: no unused bits. */
    private static final byte[] NO_UNUSED_BITS = {0x00};

    /**
     * A leaf for a workload, as DER. {@code dnsNames} and {@code ipAddresses} are only for citadel's own serving
     * certificate; workload leaves carry the SPIFFE URI alone.
     *
     * <p>The certificate is assembled from DER parts and encoded once: the issuer's fixed parts come ready from
     * {@link Signer}, and only the serial, validity, subject key and SAN are encoded per leaf. The result is
     * byte-for-byte what BouncyCastle's certificate builder makes from the same fields (LeafEncodingTest checks
     * this), without encoding the to-be-signed part twice (to sign it, then inside the certificate).
     */
    public static byte[] leaf(Signer issuer, PublicKey subjectKey, SpiffeId identity, List<String> dnsNames,
            List<String> ipAddresses, Instant notBefore, Instant notAfter, BigInteger serial)
            throws GeneralSecurityException {
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.uniformResourceIdentifier, identity.toString()));
        dnsNames.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
        ipAddresses.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
        byte[] tbs;
        try {
            // The subject is empty, so RFC 5280 requires the SAN to be critical.
            byte[] san = Signer.extension(Extension.subjectAlternativeName, true,
                    new GeneralNames(names.toArray(GeneralName[]::new)));
            tbs = Der.tlv(Der.SEQUENCE,
                    VERSION_3,
                    Der.tlv(Der.INTEGER, serial.toByteArray()),
                    issuer.algorithmId,
                    issuer.issuerName,
                    Der.tlv(Der.SEQUENCE, timeDer(notBefore), timeDer(notAfter)),
                    EMPTY_NAME,
                    subjectKeyInfo(subjectKey),
                    Der.tlv(Der.CONTEXT_3, Der.tlv(Der.SEQUENCE, issuer.fixedExtensions, san)));
        } catch (IOException | IllegalArgumentException e) {
            throw new GeneralSecurityException("cannot build a leaf certificate", e);
        }
        byte[] signature = issuer.sign(tbs);
        return Der.tlv(Der.SEQUENCE, tbs, issuer.algorithmId, Der.tlv(Der.BIT_STRING, NO_UNUSED_BITS, signature));
    }

    /** The key's SubjectPublicKeyInfo as DER; checked to be one, since it is copied into the certificate as-is. */
    private static byte[] subjectKeyInfo(PublicKey key) throws GeneralSecurityException {
        byte[] der = key.getEncoded();
        if (der == null || der.length < 2 || der[0] != Der.SEQUENCE || Der.end(der, 0, der.length) != der.length) {
            throw new GeneralSecurityException("the subject key has no DER SubjectPublicKeyInfo");
        }
        return der;
    }

    /**
     * An X.509 validity time (RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after), to the second.
     * Built from its DER text because BouncyCastle's {@code Time(Date)} makes a SimpleDateFormat on every call, a
     * tenth of an issuance's Java time.
     */
    static Time time(Instant instant) throws IOException {
        return Time.getInstance(ASN1Primitive.fromByteArray(timeDer(instant)));
    }

    /** {@link #time} as DER. */
    static byte[] timeDer(Instant instant) {
        ZonedDateTime utc = instant.atZone(ZoneOffset.UTC);
        boolean utcTime = utc.getYear() < 2050;
        byte[] text = (utcTime ? UTC_TIME : GENERALIZED_TIME).format(utc).getBytes(StandardCharsets.US_ASCII);
        byte[] der = new byte[text.length + 2];
        der[0] = (byte) (utcTime ? BERTags.UTC_TIME : BERTags.GENERALIZED_TIME);
        der[1] = (byte) text.length;
        System.arraycopy(text, 0, der, 2, text.length);
        return der;
    }

    /** The authority key identifier leaves of this issuer carry; computed once per issuer, not per leaf. */
    public static AuthorityKeyIdentifier authorityKeyId(X509Certificate issuer) throws GeneralSecurityException {
        byte[] ski = issuer.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (ski != null) {
            SubjectKeyIdentifier id = SubjectKeyIdentifier.getInstance(
                    org.bouncycastle.asn1.ASN1OctetString.getInstance(ski).getOctets());
            return new AuthorityKeyIdentifier(id.getKeyIdentifier());
        }
        return EXTENSIONS.createAuthorityKeyIdentifier(issuer.getPublicKey());
    }

    private static X509CertificateHolder sign(X509v3CertificateBuilder builder, PrivateKey key, String algorithm)
            throws GeneralSecurityException {
        try {
            return builder.build(new JcaContentSignerBuilder(algorithm)
                    .setProvider(Signatures.PROVIDER).setSecureRandom(BouncyCastle.random()).build(key));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign with the CA key", e);
        }
    }
}
