package io.mesh.gateway.xds;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.mesh.gateway.model.TlsCertificate;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/** SDS Secret → {@link TlsCertificate}, checked so that a broken secret is NACKed, not served. */
public final class SecretTranslator {

    private SecretTranslator() {
    }

    /**
     * The certificates an accepted secret holds: its chain ({@code tls_certificate}) or its trusted CAs
     * ({@code validation_context}); empty when neither parses (a secret this proxy accepted always does).
     */
    public static List<X509Certificate> certificates(Secret s) {
        String pem = s.hasValidationContext() ? ClusterTranslator.data(s.getValidationContext().getTrustedCa())
                : s.hasTlsCertificate() ? ClusterTranslator.data(s.getTlsCertificate().getCertificateChain()) : null;
        if (pem == null) {
            return List.of();
        }
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
                out.add((X509Certificate) c);
            }
            return out;
        } catch (CertificateException e) {
            return List.of();
        }
    }

    public static TlsCertificate translate(Secret s) throws ConfigRejected {
        String where = "secret " + s.getName();
        if (s.hasValidationContext()) {
            String ca = s.getValidationContext().hasTrustedCa() ? ClusterTranslator.data(s.getValidationContext().getTrustedCa()) : null;
            if (ca == null || !ca.contains("BEGIN CERTIFICATE")) {
                throw new ConfigRejected(where + ": validation_context needs a PEM trusted_ca");
            }
            return new TlsCertificate(s.getName(), ca, null);
        }
        if (!s.hasTlsCertificate()) {
            throw new ConfigRejected(where + ": only tls_certificate and validation_context secrets are supported, got "
                    + s.getTypeCase());
        }
        String cert = ClusterTranslator.data(s.getTlsCertificate().getCertificateChain());
        String key = ClusterTranslator.data(s.getTlsCertificate().getPrivateKey());
        if (cert == null || key == null || !key.contains("PRIVATE KEY-----")) {
            throw new ConfigRejected(where + ": needs a PEM certificate chain and a PEM private key");
        }
        try {
            if (CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(cert.getBytes(StandardCharsets.US_ASCII))).isEmpty()) {
                throw new ConfigRejected(where + ": the certificate chain holds no certificate");
            }
        } catch (CertificateException e) {
            throw new ConfigRejected(where + ": the certificate chain does not parse: " + e.getMessage());
        }
        return new TlsCertificate(s.getName(), cert, key);
    }
}
