package io.mesh.citadel.store;

import io.mesh.citadel.ca.IssuerMaterial;
import io.mesh.citadel.ca.Pem;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * CA material as stored, in Istio's file and Secret key names ({@code ca-cert.pem}, {@code ca-key.pem},
 * {@code cert-chain.pem}, {@code root-cert.pem}), so an operator's tools read it the same way. {@code toString}
 * never prints the key.
 */
public record StoredCa(String caCert, String caKey, String certChain, String rootCert) {

    public static final String CA_CERT = "ca-cert.pem";
    public static final String CA_KEY = "ca-key.pem";
    public static final String CERT_CHAIN = "cert-chain.pem";
    public static final String ROOT_CERT = "root-cert.pem";

    public static StoredCa selfSigned(IssuerMaterial root) {
        String pem = Pem.encode(root.certificate());
        return new StoredCa(pem, Pem.encode(root.key()), "", pem);
    }

    /** From a map of Istio's key names; missing entries are empty strings. */
    public static StoredCa fromMap(Map<String, String> entries) {
        return new StoredCa(entries.getOrDefault(CA_CERT, ""), entries.getOrDefault(CA_KEY, ""),
                entries.getOrDefault(CERT_CHAIN, ""), entries.getOrDefault(ROOT_CERT, ""));
    }

    public Map<String, String> toMap() {
        return Map.of(CA_CERT, caCert, CA_KEY, caKey, CERT_CHAIN, certChain, ROOT_CERT, rootCert);
    }

    /**
     * The signing material, checked. The chain is ca-cert, then cert-chain's certificates (Istio's plug-in
     * cert-chain.pem may start with ca-cert itself and end with the root), then root-cert, each once.
     */
    public IssuerMaterial toMaterial(Instant now) throws GeneralSecurityException {
        List<X509Certificate> chain = new ArrayList<>();
        for (String pem : List.of(caCert, certChain, rootCert)) {
            for (X509Certificate cert : Pem.certificates(pem)) {
                if (!chain.contains(cert)) {
                    chain.add(cert);
                }
            }
        }
        if (chain.isEmpty()) {
            throw new GeneralSecurityException("no CA certificate in " + CA_CERT);
        }
        return IssuerMaterial.checked(Pem.privateKey(caKey), chain, now);
    }

    @Override
    public String toString() {
        return "StoredCa[key hidden]";
    }
}
