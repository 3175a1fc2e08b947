package io.mesh.gateway.proxy;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.mesh.gateway.model.PeerMetadataConfig;
import io.vertx.core.MultiMap;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Istio's metadata exchange over HTTP headers, as Istio's proxies do it (istio/proxy's peer_metadata filter): this
 * proxy's workload goes in {@code x-envoy-peer-metadata} (a {@code google.protobuf.Struct} of its node metadata,
 * serialized and base64-encoded) with its node ID in {@code x-envoy-peer-metadata-id}; the peer's are read from the same
 * headers and removed before the request or response goes on. So each side's metrics can name the other side's
 * workload. What a chain does is its {@link PeerMetadataConfig}; this class holds the proxy's own header values and the
 * decoded peers (a bounded cache by header value: a mesh has few peers, a hostile client may send many).
 *
 * <p>The header-map paths (Vert.x, and the fast path's decoded heads) call {@link #onRequest} and
 * {@link #onResponse}; the fast path's byte heads use the same values through {@link #peer}, {@link #idLine} and
 * {@link #valueLine}. Thread-safe.
 */
final class PeerMetadata {

    static final String HEADER = "x-envoy-peer-metadata";
    static final String ID_HEADER = "x-envoy-peer-metadata-id";
    /** The cluster Istio's filter treats as external when told to skip external clusters. */
    private static final String PASSTHROUGH = "PassthroughCluster";
    private static final int MAX_CACHED = 1024;

    private final String id;
    private final String value;
    private final byte[] idLine;
    private final byte[] valueLine;
    private final Map<String, PeerWorkload> peers = new ConcurrentHashMap<>();

    PeerMetadata(String nodeId, Struct metadata) {
        this.id = nodeId;
        this.value = Base64.getEncoder().encodeToString(metadata.toByteArray());
        this.idLine = (ID_HEADER + ": " + id + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        this.valueLine = (HEADER + ": " + value + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * This proxy's metadata as Istio's proxies send theirs: its pod ({@code NAME}), namespace, workload, cluster ID,
     * the {@code app}, {@code version} and canonical labels, and {@code owner} as {@code OWNER} when known (the node's,
     * from the injector's {@code ISTIO_META_OWNER}: a peer reads the workload's type from it, istio/proxy
     * {@code extensions/common/metadata_object.cc}; without it the type is a pod's).
     */
    static Struct metadata(OwnWorkload own, String podName, String clusterId, String owner) {
        Struct.Builder out = Struct.newBuilder();
        if (owner != null && !owner.isEmpty()) {
            out.putFields("OWNER", str(owner));
        }
        Struct labels = Struct.newBuilder()
                .putFields(PeerWorkload.CANONICAL_NAME, str(own.canonicalService()))
                .putFields(PeerWorkload.CANONICAL_REVISION, str(own.canonicalRevision()))
                .putFields("app", str(own.app()))
                .putFields("version", str(own.version()))
                .build();
        return out
                .putFields("NAME", str(podName))
                .putFields("NAMESPACE", str(own.namespace()))
                .putFields("WORKLOAD_NAME", str(own.workload()))
                .putFields("CLUSTER_ID", str(clusterId))
                .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
                .build();
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s == null ? "" : s).build();
    }

    String id() {
        return id;
    }

    String value() {
        return value;
    }

    /** {@code x-envoy-peer-metadata-id: ID} and its CRLF, for heads written as bytes. */
    byte[] idLine() {
        return idLine;
    }

    /** {@code x-envoy-peer-metadata: VALUE} and its CRLF. */
    byte[] valueLine() {
        return valueLine;
    }

    /**
     * The workload a peer's {@code x-envoy-peer-metadata} value names, or null when there is none or it is not a
     * base64 Struct (the peer is then unknown, as Istio's filter leaves it; the request itself is not affected).
     */
    PeerWorkload peer(String header) {
        if (header == null || header.isEmpty()) {
            return null;
        }
        PeerWorkload known = peers.get(header);
        if (known != null) {
            return known;
        }
        PeerWorkload p;
        try {
            p = PeerWorkload.of(Struct.parseFrom(Base64.getDecoder().decode(header.trim())));
        } catch (IllegalArgumentException | InvalidProtocolBufferException e) {
            return null;
        }
        if (peers.size() >= MAX_CACHED) {
            peers.clear();
        }
        peers.put(header, p);
        return p;
    }

    /** Whether this proxy's metadata goes on a request to {@code cluster}. */
    static boolean propagatesTo(PeerMetadataConfig mx, String cluster) {
        return mx.upstreamPropagation() && !(mx.skipExternalClusters() && PASSTHROUGH.equals(cluster));
    }

    /**
     * The downstream peer of a request that arrived with {@code value} in {@code x-envoy-peer-metadata} ({@code idSent}:
     * with {@code x-envoy-peer-metadata-id}), on a chain that discovers it: read when the request arrives, before any
     * filter may answer it, so that a local reply answers with this proxy's metadata too.
     */
    void discover(ExchangeRecord ex, String value, boolean idSent) {
        ex.peerAsked = value != null || idSent;
        ex.peer = peer(value);
    }

    /**
     * A request on its way upstream, its headers in {@code h}: the exchange's headers the downstream sent are removed
     * on a chain that discovers them (read by {@link #discover}), and this proxy's are set when the chain propagates them
     * to {@code cluster} (replacing any the client sent).
     */
    void onRequest(ExchangeRecord ex, MultiMap h, String cluster) {
        PeerMetadataConfig mx = ex.mx;
        if (mx == null) {
            return;
        }
        if (mx.downstreamDiscovery()) {
            h.remove(HEADER);
            h.remove(ID_HEADER);
        }
        if (propagatesTo(mx, cluster)) {
            h.set(ID_HEADER, id);
            h.set(HEADER, value);
        }
    }

    /**
     * A response on its way downstream, its headers in {@code h} ({@code upstream}: from the upstream, else made here):
     * the upstream peer is read from an upstream's response and its headers removed, and this proxy's are added when
     * the chain answers with them to a client that sent its own.
     */
    void onResponse(ExchangeRecord ex, MultiMap h, boolean upstream) {
        PeerMetadataConfig mx = ex.mx;
        if (mx == null) {
            return;
        }
        if (upstream && mx.upstreamDiscovery()) {
            String v = h.get(HEADER);
            if (v != null) {
                ex.peer = peer(v);
            }
            h.remove(HEADER);
            h.remove(ID_HEADER);
        }
        if (mx.downstreamPropagation() && ex.peerAsked) {
            h.set(ID_HEADER, id);
            h.set(HEADER, value);
        }
    }
}
