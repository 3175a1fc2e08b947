package io.mesh.citadel;

import io.mesh.citadel.ca.BouncyCastle;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Keys and CSRs of every shape the tests need, including the ones the CA must refuse. */
public final class TestKeys {

    private TestKeys() {
    }

    public static KeyPair ec(String curve) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", BouncyCastle.PROVIDER);
        g.initialize(new ECGenParameterSpec(curve));
        return g.generateKeyPair();
    }

    public static KeyPair rsa(int bits) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", BouncyCastle.PROVIDER);
        g.initialize(bits);
        return g.generateKeyPair();
    }

    /** A PEM CSR for {@code keys} asking for {@code sans} (URIs or "dns:" names), signed by {@code signer}. */
    public static String csr(KeyPair keys, KeyPair signer, List<String> sans) throws Exception {
        var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name("O=test"), keys.getPublic());
        if (!sans.isEmpty()) {
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            GeneralName[] names = sans.stream().map(s -> s.startsWith("dns:")
                    ? new GeneralName(GeneralName.dNSName, s.substring(4))
                    : new GeneralName(GeneralName.uniformResourceIdentifier, s)).toArray(GeneralName[]::new);
            extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
            builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
        }
        String algorithm = "RSA".equals(signer.getPrivate().getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
        var request = builder.build(new JcaContentSignerBuilder(algorithm).setProvider(BouncyCastle.PROVIDER)
                .build(signer.getPrivate()));
        java.io.StringWriter out = new java.io.StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(request);
        }
        return out.toString();
    }

    public static String csr(KeyPair keys, Optional<String> san) throws Exception {
        return csr(keys, keys, san.map(List::of).orElse(List.of()));
    }
}
