package io.mesh.gateway;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The xDS node metadata istio-agent takes from the proxy's environment (istio {@code pkg/bootstrap/config.go}
 * {@code GetNodeMetaData}, {@code extractMetadata}, {@code extractAttributesMetadata}):
 * <ul>
 * <li>each {@code ISTIO_META_<NAME>=<value>} is the field {@code <NAME>}, its value a string, never parsed (e.g.
 * {@code IDLE_TIMEOUT}, {@code OWNER}, {@code WORKLOAD_NAME}, {@code CLUSTER_ID});</li>
 * <li>then each {@code ISTIO_METAJSON_<NAME>=<json>} (in name order here; the agent takes them in the environment's
 * order) is a JSON object whose top-level fields are merged into the metadata, replacing those of the same name: the
 * variable's name itself is ignored, as the agent ignores it ("The name of variable is ignored"), so
 * {@code ISTIO_METAJSON_ANNOTATIONS='{"a":"b"}'} adds the field {@code a}. A value that is not a JSON object is a
 * startup error naming the variable (the agent only logs a warning and drops it);</li>
 * <li>{@code ISTIO_METAJSON_LABELS} is also the workload's labels (a JSON object of strings), under the labels the
 * gateway is configured with ({@code mesh.gateway.node.labels}, as the agent puts the pod's labels over it).</li>
 * </ul>
 * The gateway's own fields ({@code NAMESPACE}, {@code NAME}, {@code NODE_TYPE}, {@code LABELS}) win over these, as the
 * agent's typed fields win over the raw ones; {@code CLUSTER_ID} from the environment wins over
 * {@code mesh.gateway.node.cluster}, since the agent has no other source for it.
 */
final class NodeMetadata {
    static final String ISTIO_META = "ISTIO_META_";
    static final String ISTIO_METAJSON = "ISTIO_METAJSON_";
    static final String METAJSON_LABELS = ISTIO_METAJSON + "LABELS";

    private NodeMetadata() {
    }

    /** The metadata from {@code env}; a malformed {@code ISTIO_METAJSON_*} value throws, naming the variable. */
    static Struct fromEnvironment(Map<String, String> env) {
        Map<String, String> sorted = new TreeMap<>(env);
        Struct.Builder meta = Struct.newBuilder();
        sorted.forEach((k, v) -> {
            if (k.startsWith(ISTIO_META) && k.length() > ISTIO_META.length() && v != null) {
                meta.putFields(k.substring(ISTIO_META.length()), Value.newBuilder().setStringValue(v).build());
            }
        });
        sorted.forEach((k, v) -> {
            if (k.startsWith(ISTIO_METAJSON) && v != null) {
                meta.putAllFields(json(k, v).getFieldsMap());
            }
        });
        return meta.build();
    }

    /** The labels {@code ISTIO_METAJSON_LABELS} gives (empty without it); a value that is not a string throws. */
    static Map<String, String> labels(Map<String, String> env) {
        String v = env.get(METAJSON_LABELS);
        Map<String, String> out = new LinkedHashMap<>();
        if (v == null) {
            return out;
        }
        new TreeMap<>(json(METAJSON_LABELS, v).getFieldsMap()).forEach((k, value) -> {
            if (value.getKindCase() != Value.KindCase.STRING_VALUE) {
                throw new IllegalArgumentException(METAJSON_LABELS + ": label " + k + " is not a string");
            }
            out.put(k, value.getStringValue());
        });
        return out;
    }

    private static Struct json(String variable, String value) {
        Struct.Builder s = Struct.newBuilder();
        try {
            JsonFormat.parser().merge(value, s);
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            throw new IllegalArgumentException(variable + " is not a JSON object: " + e.getMessage(), e);
        }
        return s.build();
    }
}
