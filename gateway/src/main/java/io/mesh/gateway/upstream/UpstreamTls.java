package io.mesh.gateway.upstream;

/**
 * TLS origination to a cluster: the SNI to send, trusted CA PEM (null = JVM trust), an optional client
 * certificate and key for mTLS, and SPIFFE IDs (or DNS names) the upstream certificate must carry (empty =
 * any certificate trusted by the CA). {@code certSecret} / {@code caSecret} name SDS secrets that fill in the
 * PEMs when the data plane applies a snapshot ({@link #resolve}); {@code unavailable} marks a cluster whose
 * secrets are missing, whose tries then fail at once with 503 UF.
 */
public record UpstreamTls(String sni, String caPem, String certPem, String keyPem, java.util.List<String> subjectAltNames,
        String certSecret, String caSecret, boolean unavailable) {

    /** Istio's workload identity secrets: issued by citadel to the proxy itself, never served by pilot. */
    public static boolean workloadSecret(String name) {
        return "default".equals(name) || "ROOTCA".equals(name);
    }

    /** Fills the PEMs from SDS secrets; returns null while a named secret is missing. */
    public UpstreamTls resolve(java.util.Map<String, io.mesh.gateway.model.TlsCertificate> secrets) {
        String ca = caPem;
        String cert = certPem;
        String key = keyPem;
        if (caSecret != null) {
            var s = secrets.get(caSecret);
            if (s == null) {
                return null;
            }
            ca = s.certPem();
        }
        if (certSecret != null) {
            var s = secrets.get(certSecret);
            if (s == null || s.keyPem() == null) {
                return null;
            }
            cert = s.certPem();
            key = s.keyPem();
        }
        return new UpstreamTls(sni, ca, cert, key, subjectAltNames, null, null, false);
    }
}
