package io.mesh.citadel.ca;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
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
     * What every leaf of one issuer shares, prepared once per issuer rather than per leaf: the issuer's name, its
     * key in {@link Signatures#PROVIDER}'s form, the signature algorithm, and the authority key identifier.
     */
    public record Signer(X500Name issuerName, PrivateKey key, String algorithm, AuthorityKeyIdentifier authorityKeyId) {

        public static Signer of(IssuerMaterial issuer) throws GeneralSecurityException {
            X509Certificate certificate = issuer.certificate();
            return new Signer(X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
                    Signatures.signingKey(issuer.key()), KeyAlgorithm.signatureAlgorithm(issuer.key()),
                    CertificateTemplates.authorityKeyId(certificate));
        }
    }

    /**
     * A leaf for a workload, as DER. {@code dnsNames} and {@code ipAddresses} are only for citadel's own serving
     * certificate; workload leaves carry the SPIFFE URI alone.
     */
    public static byte[] leaf(Signer issuer, PublicKey subjectKey, SpiffeId identity, List<String> dnsNames,
            List<String> ipAddresses, Instant notBefore, Instant notAfter, BigInteger serial)
            throws GeneralSecurityException {
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.uniformResourceIdentifier, identity.toString()));
        dnsNames.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
        ipAddresses.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
        try {
            X509v3CertificateBuilder builder = new X509v3CertificateBuilder(issuer.issuerName(), serial,
                    time(notBefore), time(notAfter), new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
                    SubjectPublicKeyInfo.getInstance(subjectKey.getEncoded()))
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.authorityKeyIdentifier, false, issuer.authorityKeyId())
                    // The subject is empty, so RFC 5280 requires the SAN to be critical.
                    .addExtension(Extension.subjectAlternativeName, true,
                            new GeneralNames(names.toArray(GeneralName[]::new)));
            return sign(builder, issuer.key(), issuer.algorithm()).getEncoded();
        } catch (IOException e) {
            throw new GeneralSecurityException("cannot build a leaf certificate", e);
        }
    }

    /**
     * An X.509 validity time (RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after), to the second.
     * Built from its DER text because BouncyCastle's {@code Time(Date)} makes a SimpleDateFormat on every call, a
     * tenth of an issuance's Java time.
     */
    static Time time(Instant instant) throws IOException {
        ZonedDateTime utc = instant.atZone(ZoneOffset.UTC);
        boolean utcTime = utc.getYear() < 2050;
        byte[] text = (utcTime ? UTC_TIME : GENERALIZED_TIME).format(utc).getBytes(StandardCharsets.US_ASCII);
        byte[] der = new byte[text.length + 2];
        der[0] = (byte) (utcTime ? BERTags.UTC_TIME : BERTags.GENERALIZED_TIME);
        der[1] = (byte) text.length;
        System.arraycopy(text, 0, der, 2, text.length);
        return Time.getInstance(ASN1Primitive.fromByteArray(der));
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
