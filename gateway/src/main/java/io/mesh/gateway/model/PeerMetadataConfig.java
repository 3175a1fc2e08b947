package io.mesh.gateway.model;

/**
 * Istio's metadata exchange on one filter chain: the {@code istio.metadata_exchange} HTTP filter pilot puts in its
 * HttpConnectionManager ({@code io.istio.http.peer_metadata.Config}, whose discovery and propagation methods are
 * Istio's headers {@code x-envoy-peer-metadata} and {@code x-envoy-peer-metadata-id}). A sidecar's inbound chain
 * learns the client's workload from the request ({@code downstreamDiscovery}) and answers with its own when the client
 * sent its ({@code downstreamPropagation}); an outbound chain (sidecar or gateway) sends its own workload upstream
 * ({@code upstreamPropagation}, not to the passthrough cluster when {@code skipExternalClusters}) and learns the
 * server's from the response ({@code upstreamDiscovery}). Null on a chain without the filter: headers pass untouched.
 */
public record PeerMetadataConfig(boolean downstreamDiscovery, boolean downstreamPropagation, boolean upstreamDiscovery,
        boolean upstreamPropagation, boolean skipExternalClusters) {

    /**
     * A tcp_proxy chain's {@code istio.metadata_exchange} network filter (Istio's exchange over TCP, ALPN
     * {@code istio-peer-exchange}): it learns the downstream's workload and sends its own to it.
     */
    public static final PeerMetadataConfig TCP = new PeerMetadataConfig(true, true, false, false, false);

    /** Whether the chain removes the exchange's headers from requests (it reads them, or sets its own). */
    public boolean editsRequestHeaders() {
        return downstreamDiscovery || upstreamPropagation;
    }
}
