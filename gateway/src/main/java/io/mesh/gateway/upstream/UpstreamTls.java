package io.mesh.gateway.upstream;

/**
 * TLS origination to a cluster: the SNI to send, trusted CA PEM (null = JVM trust), an optional client
 * certificate and key for mTLS, and SPIFFE IDs (or DNS names) the upstream certificate must carry (empty =
 * any certificate trusted by the CA).
 */
public record UpstreamTls(String sni, String caPem, String certPem, String keyPem, java.util.List<String> subjectAltNames) {
}
