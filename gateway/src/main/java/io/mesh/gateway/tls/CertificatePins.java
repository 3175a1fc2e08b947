package io.mesh.gateway.tls;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Envoy's certificate pinning ({@code verify_certificate_spki} and {@code verify_certificate_hash} of a
 * CertificateValidationContext): the SHA-256 of a certificate's DER SubjectPublicKeyInfo, or of the whole DER certificate,
 * each held as lower-case hex. A certificate matches when either set holds its digest (Envoy: a hash matching either
 * list accepts it, when both are given); with no pins every certificate does. Checked after the CA, never instead of it.
 * Immutable.
 */
public record CertificatePins(Set<String> spkiSha256, Set<String> certSha256) {

    public static final CertificatePins NONE = new CertificatePins(Set.of(), Set.of());

    public CertificatePins {
        spkiSha256 = Set.copyOf(spkiSha256);
        certSha256 = Set.copyOf(certSha256);
    }

    /**
     * From Envoy's forms: SPKI pins base64 (44 characters), certificate hashes hex (64 digits, colons allowed between
     * bytes, either case). A pin that is no SHA-256 is an IllegalArgumentException naming it, as Envoy rejects the
     * context.
     */
    public static CertificatePins parse(List<String> spkiBase64, List<String> certHex) {
        Set<String> spki = new LinkedHashSet<>();
        for (String s : spkiBase64) {
            byte[] b;
            try {
                b = Base64.getDecoder().decode(s);
            } catch (IllegalArgumentException e) {
                b = new byte[0];
            }
            if (b.length != 32) {
                throw new IllegalArgumentException("verify_certificate_spki \"" + s + "\" is not a base64-encoded SHA-256");
            }
            spki.add(HexFormat.of().formatHex(b));
        }
        Set<String> certs = new LinkedHashSet<>();
        for (String h : certHex) {
            String hex = h.replace(":", "").toLowerCase(java.util.Locale.ROOT);
            if (hex.length() != 64 || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw new IllegalArgumentException("verify_certificate_hash \"" + h + "\" is not a hex-encoded SHA-256");
            }
            certs.add(hex);
        }
        return spki.isEmpty() && certs.isEmpty() ? NONE : new CertificatePins(spki, certs);
    }

    /** Whether there is any pin. */
    public boolean any() {
        return !spkiSha256.isEmpty() || !certSha256.isEmpty();
    }

    /** Whether the certificate's SPKI or DER digest is pinned (always, without pins). */
    public boolean matches(X509Certificate cert) throws CertificateEncodingException {
        if (!any()) {
            return true;
        }
        return (!certSha256.isEmpty() && certSha256.contains(sha256(cert.getEncoded())))
                || (!spkiSha256.isEmpty() && spkiSha256.contains(sha256(cert.getPublicKey().getEncoded())));
    }

    private static String sha256(byte[] der) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
