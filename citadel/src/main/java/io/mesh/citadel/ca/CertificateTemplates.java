package io.mesh.citadel.ca;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
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
import org.bouncycastle.cert.CertIOException;
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
            return sign(builder, keys.getPrivate());
        } catch (CertIOException e) {
            throw new GeneralSecurityException("cannot build the root certificate", e);
        }
    }

    /**
     * A leaf for a workload. {@code dnsNames} and {@code ipAddresses} are only for citadel's own serving
     * certificate; workload leaves carry the SPIFFE URI alone.
     */
    public static X509Certificate leaf(IssuerMaterial issuer, PublicKey subjectKey, SpiffeId identity,
            List<String> dnsNames, List<String> ipAddresses, Instant notBefore, Instant notAfter, BigInteger serial,
            AuthorityKeyIdentifier authorityKeyId) throws GeneralSecurityException {
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.uniformResourceIdentifier, identity.toString()));
        dnsNames.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
        ipAddresses.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
        X509Certificate issuerCert = issuer.certificate();
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    X500Name.getInstance(issuerCert.getSubjectX500Principal().getEncoded()), serial,
                    Date.from(notBefore), Date.from(notAfter), new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
                    subjectKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.authorityKeyIdentifier, false, authorityKeyId)
                    // The subject is empty, so RFC 5280 requires the SAN to be critical.
                    .addExtension(Extension.subjectAlternativeName, true,
                            new GeneralNames(names.toArray(GeneralName[]::new)));
            return sign(builder, issuer.key());
        } catch (CertIOException e) {
            throw new GeneralSecurityException("cannot build a leaf certificate", e);
        }
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

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
            throws GeneralSecurityException {
        try {
            var signer = new JcaContentSignerBuilder(KeyAlgorithm.signatureAlgorithm(key))
                    .setProvider(BouncyCastle.PROVIDER).setSecureRandom(BouncyCastle.random()).build(key);
            return new JcaX509CertificateConverter().setProvider(BouncyCastle.PROVIDER)
                    .getCertificate(builder.build(signer));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign with the CA key", e);
        }
    }
}
