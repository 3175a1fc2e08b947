package io.mesh.gateway.proxy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

/**
 * The workload at the other end of a request, as Istio's metadata exchange tells it (the peer's node metadata): what
 * Istio's metrics label the peer's side with. Read from the fields Istio's proxies send ({@code WORKLOAD_NAME},
 * {@code NAMESPACE}, {@code CLUSTER_ID}, and under {@code LABELS} {@code app}, {@code version} and the canonical
 * service and revision); a field the peer did not send is {@code unknown} (the revision {@code latest}), as Istio's
 * stats filter reports it.
 */
record PeerWorkload(String workload, String namespace, String app, String version, String canonicalService,
        String canonicalRevision, String cluster) {

    static final String CANONICAL_NAME = "service.istio.io/canonical-name";
    static final String CANONICAL_REVISION = "service.istio.io/canonical-revision";

    static PeerWorkload of(Struct metadata) {
        Struct labels = metadata.getFieldsOrDefault("LABELS", Value.getDefaultInstance()).getStructValue();
        return new PeerWorkload(text(metadata, "WORKLOAD_NAME", "unknown"), text(metadata, "NAMESPACE", "unknown"),
                text(labels, "app", "unknown"), text(labels, "version", "unknown"), text(labels, CANONICAL_NAME, "unknown"),
                text(labels, CANONICAL_REVISION, "latest"), text(metadata, "CLUSTER_ID", "unknown"));
    }

    private static String text(Struct s, String field, String absent) {
        Value v = s.getFieldsMap().get(field);
        return v == null || v.getKindCase() != Value.KindCase.STRING_VALUE || v.getStringValue().isEmpty() ? absent
                : v.getStringValue();
    }
}
