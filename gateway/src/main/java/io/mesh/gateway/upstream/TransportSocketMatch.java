package io.mesh.gateway.upstream;

import com.google.protobuf.Value;
import java.util.Map;

/**
 * One of a cluster's {@code transport_socket_matches} (Envoy's cluster.proto): an endpoint whose
 * {@code envoy.transport_socket_match} filter metadata holds every field of {@code match} with an equal value (an empty
 * match holds for every endpoint) connects with {@code tls}, or in plaintext when {@code tls} is null (raw_buffer).
 * The first match wins; an endpoint matching none uses the cluster's own {@code transport_socket}. istiod sends two for
 * auto mTLS: {@code tlsMode-istio} ({@code {tlsMode: istio}}, ISTIO_MUTUAL) and {@code tlsMode-disabled} (empty,
 * raw_buffer).
 */
public record TransportSocketMatch(String name, Map<String, Value> match, UpstreamTls tls) {

    public TransportSocketMatch {
        match = Map.copyOf(match);
    }

    /** Envoy's metadataLabelMatch: each field of the match present in the endpoint's metadata, with an equal value. */
    public boolean matches(Map<String, Value> endpointMetadata) {
        for (Map.Entry<String, Value> e : match.entrySet()) {
            if (!e.getValue().equals(endpointMetadata.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** The same match with other TLS settings (its SDS secrets resolved). */
    public TransportSocketMatch withTls(UpstreamTls resolved) {
        return new TransportSocketMatch(name, match, resolved);
    }
}
