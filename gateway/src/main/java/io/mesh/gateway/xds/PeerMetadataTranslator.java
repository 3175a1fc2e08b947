package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.mesh.gateway.model.PeerMetadataConfig;
import java.util.Map;

/**
 * The {@code istio.metadata_exchange} HTTP filter → {@link PeerMetadataConfig}. istiod writes its config as a
 * TypedStruct (xds or udpa) naming {@code io.istio.http.peer_metadata.Config}, whose fields are lists of methods:
 * {@code downstream_discovery}, {@code upstream_discovery}, {@code downstream_propagation} and
 * {@code upstream_propagation}, each entry an {@code istio_headers} or a {@code workload_discovery} method. Istio's
 * headers are served; workload discovery (ambient's WDS, which this mesh does not have) finds nothing and is skipped,
 * as Envoy skips a method that finds no peer. Anything else is refused with the field named.
 */
final class PeerMetadataTranslator {

    static final String FILTER = "istio.metadata_exchange";
    static final String CONFIG_TYPE = "type.googleapis.com/io.istio.http.peer_metadata.Config";

    private PeerMetadataTranslator() {
    }

    /** The filter's config, or null when it is not a peer-metadata filter (the older empty form is accepted as none). */
    static PeerMetadataConfig translate(Any config, String where) throws ConfigRejected {
        if (config.getTypeUrl().isEmpty()) {
            return null;
        }
        Struct fields = TypedStructs.fields(config, FILTER, CONFIG_TYPE, where);
        boolean downDiscovery = false;
        boolean upDiscovery = false;
        boolean downPropagation = false;
        boolean upPropagation = false;
        boolean skipExternal = false;
        for (Map.Entry<String, Value> f : fields.getFieldsMap().entrySet()) {
            String name = f.getKey();
            switch (name) {
                case "downstream_discovery" -> downDiscovery = headers(f.getValue(), where + " " + name, false) != null;
                case "upstream_discovery" -> upDiscovery = headers(f.getValue(), where + " " + name, false) != null;
                case "downstream_propagation" -> downPropagation = headers(f.getValue(), where + " " + name, true) != null;
                case "upstream_propagation" -> {
                    Struct h = headers(f.getValue(), where + " " + name, true);
                    upPropagation = h != null;
                    skipExternal = h != null && h.getFieldsOrDefault("skip_external_clusters", Value.getDefaultInstance())
                            .getBoolValue();
                }
                case "shared_with_upstream", "additional_labels" -> {
                    // Filter-state sharing with upstream filters and extra peer labels: no reader of them here.
                }
                default -> throw new ConfigRejected(where + ": " + FILTER + ": unknown field " + name);
            }
        }
        return new PeerMetadataConfig(downDiscovery, downPropagation, upDiscovery, upPropagation, skipExternal);
    }

    /**
     * The {@code istio_headers} entry of a list of methods (its config; an empty Struct when it has none), or null when
     * the list has none. {@code propagation}: a propagation list, where workload discovery is not a method.
     */
    private static Struct headers(Value list, String where, boolean propagation) throws ConfigRejected {
        if (!list.hasListValue()) {
            throw new ConfigRejected(where + ": a list of methods expected");
        }
        Struct found = null;
        for (Value v : list.getListValue().getValuesList()) {
            if (!v.hasStructValue() || v.getStructValue().getFieldsCount() != 1) {
                throw new ConfigRejected(where + ": each method is one of istio_headers"
                        + (propagation ? "" : ", workload_discovery"));
            }
            Map.Entry<String, Value> m = v.getStructValue().getFieldsMap().entrySet().iterator().next();
            if (m.getKey().equals("istio_headers")) {
                found = m.getValue().hasStructValue() ? m.getValue().getStructValue() : Struct.getDefaultInstance();
            } else if (propagation || !m.getKey().equals("workload_discovery")) {
                throw new ConfigRejected(where + ": unsupported method " + m.getKey());
            }
        }
        return found;
    }
}
