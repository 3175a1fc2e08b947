package io.mesh.gateway.upstream;

/**
 * TLS origination to a cluster: the SNI to send, trusted CA PEM (null = JVM trust), an optional client
 * certificate and key for mTLS, and SPIFFE IDs (or DNS names) the upstream certificate must carry (empty =
 * any certificate trusted by the CA). {@code certSecret} / {@code caSecret} name SDS secrets that fill in the
 * PEMs when the data plane applies a snapshot ({@link #resolve}); {@code default} and {@code ROOTCA} stay named after resolving: they
 * are the proxy's workload identity. {@code unavailable} marks a cluster whose
 * secrets are missing, whose tries then fail at once with 503 UF. {@code alpn}: the protocols the cluster's TLS
 * context offers ({@code common_tls_context.alpn_protocols}), which a tcp_proxy's connection offers (HTTP connections
 * offer their own, as Envoy's ALPN override does). {@code peerExchange}: the cluster has Istio's
 * {@code istio.metadata_exchange} upstream filter, so a tcp_proxy's connection exchanges workload metadata with the
 * peer when the handshake picks {@code istio-peer-exchange}. {@code verify}: false when the context has no validation
 * at all (Envoy's empty or absent {@code validation_context}: any certificate is accepted; istiod sends it for a
 * DestinationRule's {@code insecureSkipVerify}); the system roots are the SDS name {@link #SYSTEM_ROOTS}.
 * {@code autoSni} / {@code autoSanValidation}: the cluster's {@code upstream_http_protocol_options.auto_sni} and
 * {@code auto_san_validation}, which istiod sets for a DestinationRule's SIMPLE or MUTUAL TLS without {@code sni}: an
 * HTTP request's SNI is its Host (without the port), and the upstream's certificate must be valid for that name.
 */
public record UpstreamTls(String sni, String caPem, String certPem, String keyPem, java.util.List<String> subjectAltNames,
        String certSecret, String caSecret, boolean unavailable, java.util.List<String> alpn, boolean peerExchange,
        boolean verify, boolean autoSni, boolean autoSanValidation) {

    public UpstreamTls {
        alpn = alpn == null ? java.util.List.of() : java.util.List.copyOf(alpn);
    }

    /** Verified TLS, its SNI the cluster's. */
    public UpstreamTls(String sni, String caPem, String certPem, String keyPem, java.util.List<String> subjectAltNames,
            String certSecret, String caSecret, boolean unavailable, java.util.List<String> alpn, boolean peerExchange) {
        this(sni, caPem, certPem, keyPem, subjectAltNames, certSecret, caSecret, unavailable, alpn, peerExchange, true,
                false, false);
    }

    /** TLS without ALPN or metadata exchange. */
    public UpstreamTls(String sni, String caPem, String certPem, String keyPem, java.util.List<String> subjectAltNames,
            String certSecret, String caSecret, boolean unavailable) {
        this(sni, caPem, certPem, keyPem, subjectAltNames, certSecret, caSecret, unavailable, java.util.List.of(), false);
    }

    /** This TLS with the metadata exchange on. */
    public UpstreamTls withPeerExchange() {
        return new UpstreamTls(sni, caPem, certPem, keyPem, subjectAltNames, certSecret, caSecret, unavailable, alpn,
                true, verify, autoSni, autoSanValidation);
    }

    /** This TLS with the cluster's automatic SNI and SAN validation. */
    public UpstreamTls withAuto(boolean sniFromHost, boolean sanFromHost) {
        return new UpstreamTls(sni, caPem, certPem, keyPem, subjectAltNames, certSecret, caSecret, unavailable, alpn,
                peerExchange, verify, sniFromHost, sanFromHost);
    }

    /**
     * The SNI of a request whose Host is {@code host} (without its port): the cluster's, else with {@link #autoSni} the
     * host (none for an IP literal, which is never sent as SNI), else none.
     */
    public String sniFor(String host) {
        if (sni != null || !autoSni || host == null || host.isEmpty()) {
            return sni;
        }
        return io.netty.util.NetUtil.isValidIpV4Address(host) || io.netty.util.NetUtil.isValidIpV6Address(host) ? null
                : host;
    }

    /**
     * The ALPN protocols a tcp_proxy's connection offers: the cluster's, without {@code istio-peer-exchange} when the
     * cluster has no metadata exchange filter (a peer that picked it would send its metadata into the relayed bytes).
     */
    public java.util.List<String> relayAlpn() {
        return peerExchange ? alpn : alpn.stream().filter(p -> !"istio-peer-exchange".equals(p)).toList();
    }

    /** Istio's SDS name for the proxy's own certificate. */
    public static final String DEFAULT_CERT = "default";
    /** Istio's SDS name for the mesh's root (validation context). */
    public static final String ROOTCA = "ROOTCA";

    /**
     * istiod's SDS name for the system's root certificates (its agent reads the OS bundle; here they are the JVM's
     * default trust store, which Debian's Java builds from the same bundle).
     */
    public static final String SYSTEM_ROOTS = "file-root:system";

    /** Istio's workload identity secrets: issued by citadel to the proxy itself, never served by pilot. */
    public static boolean workloadSecret(String name) {
        return DEFAULT_CERT.equals(name) || ROOTCA.equals(name);
    }

    /** Secrets the proxy has itself, never asked of pilot over SDS: the workload identity's and the system roots. */
    public static boolean localSecret(String name) {
        return workloadSecret(name) || SYSTEM_ROOTS.equals(name);
    }

    /**
     * Fills the PEMs from SDS secrets; returns null while a named secret is missing. With {@code workloadIdentity},
     * the names {@code default} and {@code ROOTCA} stay as they are (the upstream reads them from the proxy's
     * identity at each handshake); without it, they are missing.
     */
    public UpstreamTls resolve(java.util.Map<String, io.mesh.gateway.model.TlsCertificate> secrets, boolean workloadIdentity) {
        String ca = caPem;
        String cert = certPem;
        String key = keyPem;
        String keptCa = null;
        String keptCert = null;
        if (caSecret != null && !SYSTEM_ROOTS.equals(caSecret)) {   // the system roots: caPem null, the JVM's trust
            if (workloadIdentity && ROOTCA.equals(caSecret)) {
                keptCa = caSecret;
            } else {
                var s = secrets.get(caSecret);
                if (s == null) {
                    return null;
                }
                ca = s.certPem();
            }
        }
        if (certSecret != null) {
            if (workloadIdentity && DEFAULT_CERT.equals(certSecret)) {
                keptCert = certSecret;
            } else {
                var s = secrets.get(certSecret);
                if (s == null || s.keyPem() == null) {
                    return null;
                }
                cert = s.certPem();
                key = s.keyPem();
            }
        }
        return new UpstreamTls(sni, ca, cert, key, subjectAltNames, keptCert, keptCa, false, alpn, peerExchange, verify,
                autoSni, autoSanValidation);
    }
}
