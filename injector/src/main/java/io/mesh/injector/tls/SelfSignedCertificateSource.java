package io.mesh.injector.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A serving certificate when citadel is off: a fresh throw-away CA (ECDSA P-256) signs a leaf for the
 * configured DNS names, 127.0.0.1 and ::1. Every issue makes a new CA; the trust bundle holds the new CA
 * and the one before it, so a caller still holding the previous bundle keeps working through a rotation.
 * The CA's private key is dropped as soon as the leaf is signed.
 *
 * <p>Thread-safety: {@link #issue()} is synchronized (it remembers the previous CA).
 */
public final class SelfSignedCertificateSource implements ServingCertificateSource {

    private static final Duration BACKDATE = Duration.ofMinutes(5);

    private final List<String> dnsNames;
    private final Duration ttl;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private String previousCaPem = "";

    public SelfSignedCertificateSource(List<String> dnsNames, Duration ttl, Clock clock) {
        this.dnsNames = List.copyOf(dnsNames);
        this.ttl = ttl;
        this.clock = clock;
    }

    @Override
    public synchronized ServingCertificate issue() throws GeneralSecurityException, IOException, OperatorCreationException {
        Instant now = clock.instant();
        Instant notBefore = now.minus(BACKDATE);
        Instant notAfter = now.plus(ttl);
        JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();

        KeyPair caKey = ecKey();
        X500Name caName = new X500Name("O=mesh,CN=injector self-signed CA " + now.toEpochMilli());
        X509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, serial(), Date.from(notBefore),
                Date.from(notAfter.plus(BACKDATE)), caName, caKey.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                .addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(caKey.getPublic()));
        X509Certificate caCert = sign(ca, caKey);

        KeyPair leafKey = ecKey();
        List<GeneralName> names = new ArrayList<>();
        dnsNames.forEach(name -> names.add(new GeneralName(GeneralName.dNSName, name)));
        names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
        names.add(new GeneralName(GeneralName.iPAddress, "::1"));
        X509v3CertificateBuilder leaf = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(notBefore),
                Date.from(notAfter), new X500Name("O=mesh,CN=" + (dnsNames.isEmpty() ? "injector" : dnsNames.get(0))),
                leafKey.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)))
                .addExtension(Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(caCert));
        X509Certificate leafCert = sign(leaf, caKey);

        String caPem = pem(caCert);
        String bundle = caPem + previousCaPem;
        previousCaPem = caPem;
        return new ServingCertificate(pem(new JcaPKCS8Generator(leafKey.getPrivate(), null)), pem(leafCert), bundle,
                notAfter, ServingCertificate.renewAt(now, notAfter));
    }

    private KeyPair ecKey() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), random);
        return generator.generateKeyPair();
    }

    /** Random and positive, so serials are never reused across restarts. */
    private BigInteger serial() {
        return new BigInteger(127, random).add(BigInteger.ONE);
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer)
            throws OperatorCreationException, GeneralSecurityException {
        return new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    }

    private static String pem(Object object) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(object);
        }
        return out.toString();
    }
}
