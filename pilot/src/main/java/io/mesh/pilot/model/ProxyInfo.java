package io.mesh.pilot.model;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.HashMap;
import java.util.Map;

/**
 * Who is asking, parsed once from the xDS node: Istio-style ids are "type~ip~pod.namespace~namespace.svc..."; the
 * node metadata GENERATOR=grpc marks a proxyless gRPC client, and NAMESPACE/LABELS say where the proxy runs.
 * {@code locality}: the node's own locality, "region/zone/subzone" (empty parts when not sent); the registry's
 * knowledge of the proxy's pod wins over it (generator.ProxyLocality, as istiod).
 */
public record ProxyInfo(String id, Type type, String namespace, String ip, Map<String, String> labels,
        String locality) {
    public enum Type { SIDECAR, ROUTER, GRPC }

    public ProxyInfo {
        labels = Map.copyOf(labels);
        locality = locality == null ? "" : locality;
    }

    /** A proxy whose node sends no locality. */
    public ProxyInfo(String id, Type type, String namespace, String ip, Map<String, String> labels) {
        this(id, type, namespace, ip, labels, "");
    }

    public static ProxyInfo from(Node node) {
        String id = node.getId();
        String[] parts = id.split("~");
        Struct md = node.getMetadata();
        String generator = str(md, "GENERATOR");
        Type type;
        if ("grpc".equalsIgnoreCase(generator)) {
            type = Type.GRPC;
        } else if (parts.length >= 1 && parts[0].equals("router")) {
            type = Type.ROUTER;
        } else if (parts.length == 4) {
            type = Type.SIDECAR;
        } else {
            type = Type.GRPC;
        }
        String ns = str(md, "NAMESPACE");
        if (ns == null && parts.length == 4) {
            int dot = parts[2].lastIndexOf('.');
            ns = dot > 0 ? parts[2].substring(dot + 1) : null;
        }
        String ip = str(md, "INSTANCE_IPS");
        if (ip == null && parts.length == 4) {
            ip = parts[1];
        }
        Map<String, String> labels = new HashMap<>();
        Value l = md.getFieldsMap().get("LABELS");
        if (l != null && l.hasStructValue()) {
            l.getStructValue().getFieldsMap().forEach((k, v) -> labels.put(k, v.getStringValue()));
        }
        var loc = node.getLocality();
        String locality = loc.getRegion().isEmpty() && loc.getZone().isEmpty() && loc.getSubZone().isEmpty() ? ""
                : loc.getRegion() + "/" + loc.getZone() + "/" + loc.getSubZone();
        return new ProxyInfo(id, type, ns == null ? "default" : ns, ip == null ? "" : ip.split(",")[0], labels,
                locality);
    }

    private static String str(Struct md, String key) {
        Value v = md.getFieldsMap().get(key);
        return v == null || v.getStringValue().isEmpty() ? null : v.getStringValue();
    }
}
