package io.mesh.injector.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Istio's probe rewrite. With mTLS the kubelet cannot reach an app's HTTP or TCP probe through the sidecar,
 * so each one is pointed at the sidecar's status port ({@code /app-health/<container>/readyz|livez|startupz}),
 * and the original goes to the sidecar in {@code ISTIO_KUBE_APP_PROBERS}, which probes the app from inside
 * the pod. Timings (period, threshold, ...) stay on the rewritten probe.
 */
final class ProbeRewrite {

    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final Map<String, String> PROBES = Map.of(
            "readinessProbe", "readyz", "livenessProbe", "livez", "startupProbe", "startupz");
    private static final List<String> ORDER = List.of("readinessProbe", "livenessProbe", "startupProbe");

    private ProbeRewrite() {
    }

    /**
     * Rewrites the probes of {@code containers} in place and returns the original probers by path, in a
     * stable order.
     */
    static Map<String, ObjectNode> rewrite(List<ObjectNode> containers, int statusPort) {
        Map<String, ObjectNode> probers = new TreeMap<>();
        for (ObjectNode container : containers) {
            String name = container.path("name").asText("");
            for (String field : ORDER) {
                if (!(container.get(field) instanceof ObjectNode probe)) {
                    continue;
                }
                ObjectNode prober = prober(probe, container);
                if (prober == null) {
                    continue;
                }
                String path = "/app-health/" + name + "/" + PROBES.get(field);
                probers.put(path, prober);
                probe.remove("tcpSocket");
                ObjectNode httpGet = F.objectNode();
                httpGet.put("path", path);
                httpGet.put("port", statusPort);
                httpGet.put("scheme", "HTTP");
                probe.set("httpGet", httpGet);
            }
        }
        return probers;
    }

    /** What the sidecar must probe, or null when the probe is not one that is rewritten. */
    private static ObjectNode prober(ObjectNode probe, ObjectNode container) {
        ObjectNode prober = F.objectNode();
        if (probe.get("httpGet") instanceof ObjectNode httpGet) {
            Integer port = port(httpGet.get("port"), container);
            if (port == null) {
                return null;
            }
            ObjectNode original = httpGet.deepCopy();
            original.put("port", port);
            original.remove("host");
            if (!original.has("path")) {
                original.put("path", "/");
            }
            prober.set("httpGet", original);
        } else if (probe.get("tcpSocket") instanceof ObjectNode tcpSocket) {
            Integer port = port(tcpSocket.get("port"), container);
            if (port == null) {
                return null;
            }
            prober.set("tcpSocket", F.objectNode().set("port", IntNode.valueOf(port)));
        } else {
            return null;
        }
        prober.put("timeoutSeconds", probe.path("timeoutSeconds").asInt(1));
        return prober;
    }

    /** A number, or a named container port resolved to its number; null if neither. */
    private static Integer port(JsonNode port, ObjectNode container) {
        if (port == null) {
            return null;
        }
        if (port.isInt()) {
            return port.intValue();
        }
        String text = port.asText("");
        if (!text.isEmpty() && text.length() <= 5 && text.chars().allMatch(Character::isDigit)) {
            return Integer.parseInt(text);
        }
        for (JsonNode declared : container.path("ports")) {
            if (text.equals(declared.path("name").asText())) {
                return declared.path("containerPort").asInt();
            }
        }
        return null;
    }
}
