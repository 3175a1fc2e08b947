package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer;
import io.mesh.config.DestinationRule;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSnapshot;

/**
 * Auto mTLS per endpoint, as istiod decides it (istio/istio {@code pilot/pkg/networking/core/cluster_tls.go}
 * applyUpstreamTLSSettings, {@code pilot/pkg/xds/endpoints/mtls_checker.go} and {@code util.AppendLbEndpointMetadata}):
 * CDS gives an auto-detected cluster two {@code transport_socket_matches}, ISTIO_MUTUAL for endpoints whose
 * {@code envoy.transport_socket_match} metadata says {@code tlsMode: istio}, else plaintext; EDS writes that metadata on
 * each endpoint that has a sidecar and whose PeerAuthentication does not DISABLE mTLS on its port. So a service whose
 * pods are only partly injected reaches each pod the way it accepts.
 */
final class AutoMtls {
    /** The endpoint label the injector sets on pods with a sidecar (and its short name in the match metadata). */
    static final String TLS_MODE_LABEL = "security.istio.io/tlsMode";
    static final String TLS_MODE = "tlsMode";
    /** The filter metadata namespace Envoy matches transport_socket_matches against. */
    static final String MATCH_METADATA = "envoy.transport_socket_match";
    static final String ISTIO = "istio";
    /** istiod's label value for a workload without a sidecar: never written as metadata. */
    private static final String DISABLED = "disabled";

    private static final TransportSocket RAW_BUFFER = TransportSocket.newBuilder()
            .setName("envoy.transport_sockets.raw_buffer").setTypedConfig(Any.pack(RawBuffer.getDefaultInstance()))
            .build();

    private AutoMtls() {
    }

    /**
     * istiod's two matches: {@code tlsMode-istio} ({@code {tlsMode: istio}}: the ISTIO_MUTUAL socket), then
     * {@code tlsMode-disabled} (an empty match, so every other endpoint: raw_buffer). The cluster keeps no
     * {@code transport_socket} of its own.
     */
    static void apply(Cluster.Builder c, TransportSocket istioMutual) {
        c.clearTransportSocket()
                .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-" + ISTIO)
                        .setMatch(Struct.newBuilder().putFields(TLS_MODE, Value.newBuilder().setStringValue(ISTIO).build()))
                        .setTransportSocket(istioMutual))
                .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-" + DISABLED)
                        .setMatch(Struct.getDefaultInstance()).setTransportSocket(RAW_BUFFER));
    }

    /**
     * The endpoint's {@code envoy.transport_socket_match} metadata, or null for none: {@code {tlsMode: LABEL}} when its
     * tlsMode label is set (and not {@code disabled}) and mTLS to it is on, that is: the cluster's DestinationRule sets
     * ISTIO_MUTUAL, or it sets no TLS and the endpoint's PeerAuthentication (its namespace, labels and port) is not
     * DISABLE. {@code policy} is the cluster's traffic policy (null: none).
     */
    static Metadata endpointMetadata(Endpoint e, int endpointPort, String namespace,
            DestinationRule.TrafficPolicy policy, MeshSnapshot snapshot) {
        String mode = e.labels().get(TLS_MODE_LABEL);
        if (mode == null || mode.isEmpty() || DISABLED.equals(mode)) {
            return null;
        }
        DestinationRule.Tls tls = policy == null ? null : policy.tls();
        boolean enabled = tls != null ? tls.mode() == DestinationRule.TlsMode.ISTIO_MUTUAL
                : !"DISABLE".equals(SidecarInbound.mtlsMode(namespace, e.labels(), snapshot, endpointPort));
        if (!enabled) {
            return null;
        }
        return Metadata.newBuilder().putFilterMetadata(MATCH_METADATA,
                Struct.newBuilder().putFields(TLS_MODE, Value.newBuilder().setStringValue(mode).build()).build()).build();
    }

    /**
     * Cluster granularity, for ORIGINAL_DST clusters only (a Passthrough service's on a sidecar): an original
     * destination has no endpoint metadata to match, so istiod leaves them out of transport_socket_matches and infers
     * the service's mode from all its instances: all of them (at least one) must carry {@code tlsMode: istio}.
     */
    static boolean allInMesh(java.util.List<Endpoint> endpoints) {
        return !endpoints.isEmpty() && endpoints.stream().allMatch(e -> ISTIO.equals(e.labels().get(TLS_MODE_LABEL)));
    }
}
