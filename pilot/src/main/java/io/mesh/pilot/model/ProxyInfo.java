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
 * knowledge of the proxy's pod wins over it (generator.ProxyLocality, as istiod). {@code idleTimeout}: the node metadata
 * {@code IDLE_TIMEOUT} (Istio's {@code ISTIO_META_IDLE_TIMEOUT}, a Go duration such as {@code 30m}), the idle timeout
 * of its tcp_proxy filters where no DestinationRule sets one; null when not sent or not a duration (istiod ignores it).
 * {@code node}: the node metadata {@code NODE_NAME} (istio-agent sends its pod's {@code spec.nodeName}), istiod's
 * proxy.GetNodeName(); empty when not sent. {@code version}: the node metadata {@code ISTIO_VERSION} (the proxy's
 * version, as istio-agent sends it), else the node's user agent version; empty when neither is sent.
 */
public record ProxyInfo(String id, Type type, String namespace, String ip, Map<String, String> labels,
        String locality, java.time.Duration idleTimeout, String node, String version) {
    public enum Type { SIDECAR, ROUTER, GRPC }

    public ProxyInfo {
        labels = Map.copyOf(labels);
        locality = locality == null ? "" : locality;
        node = node == null ? "" : node;
        version = version == null ? "" : version;
    }

    /** A proxy whose node sends no version. */
    public ProxyInfo(String id, Type type, String namespace, String ip, Map<String, String> labels, String locality,
            java.time.Duration idleTimeout, String node) {
        this(id, type, namespace, ip, labels, locality, idleTimeout, node, "");
    }

    /** A proxy whose node sends no NODE_NAME. */
    public ProxyInfo(String id, Type type, String namespace, String ip, Map<String, String> labels, String locality,
            java.time.Duration idleTimeout) {
        this(id, type, namespace, ip, labels, locality, idleTimeout, "");
    }

    /** A proxy whose node sends no IDLE_TIMEOUT. */
    public ProxyInfo(String id, Type type, String namespace, String ip, Map<String, String> labels, String locality) {
        this(id, type, namespace, ip, labels, locality, null);
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
        String idle = str(md, "IDLE_TIMEOUT");
        String version = str(md, "ISTIO_VERSION");
        return new ProxyInfo(id, type, ns == null ? "default" : ns, ip == null ? "" : ip.split(",")[0], labels,
                locality, idle == null ? null : io.mesh.config.SpecReader.parseDuration(idle), str(md, "NODE_NAME"),
                version != null ? version : node.getUserAgentVersion());
    }

    private static String str(Struct md, String key) {
        Value v = md.getFieldsMap().get(key);
        return v == null || v.getStringValue().isEmpty() ? null : v.getStringValue();
    }
}
