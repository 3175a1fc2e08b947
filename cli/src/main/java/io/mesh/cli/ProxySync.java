package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * {@code meshctl proxy-status PROXY}: whether what a gateway accepted (its admin {@code /config_dump}) is what pilot
 * serves it ({@code /debug/config_dump}), type by type, as istioctl proxy-status PROXY compares Envoy's config dump
 * with istiod's. Resources are compared by name, whole: a NACKed push, a push not yet arrived or a proxy that kept an
 * older config all show as the names that differ.
 */
final class ProxySync {

    /** One xDS type: its title, its field in both dumps, and the field that names a resource. */
    private record Kind(String title, String field, String nameField) {
    }

    private static final List<Kind> KINDS = List.of(new Kind("Clusters", "clusters", "name"),
            new Kind("Listeners", "listeners", "name"), new Kind("Routes", "routes", "name"),
            new Kind("Endpoints", "endpoints", "clusterName"));

    /** The comparison: one line per type, and whether every type matched. */
    record Result(boolean match, List<String> lines) {
    }

    private ProxySync() {
    }

    /** {@code served}: pilot's dump for the proxy; {@code accepted}: the gateway's, in the same shape (ProxyConfig.fromAdmin). */
    static Result compare(JsonNode served, JsonNode accepted) {
        List<String> lines = new ArrayList<>();
        boolean all = true;
        for (Kind kind : KINDS) {
            Map<String, JsonNode> fromPilot = byName(served.path(kind.field()), kind.nameField());
            Map<String, JsonNode> inProxy = byName(accepted.path(kind.field()), kind.nameField());
            List<String> onlyPilot = new ArrayList<>();
            List<String> different = new ArrayList<>();
            fromPilot.forEach((name, resource) -> {
                JsonNode held = inProxy.get(name);
                if (held == null) {
                    onlyPilot.add(name);
                } else if (!held.equals(resource)) {
                    different.add(name);
                }
            });
            List<String> onlyProxy = new ArrayList<>(new TreeSet<>(inProxy.keySet()));
            onlyProxy.removeAll(fromPilot.keySet());
            if (onlyPilot.isEmpty() && onlyProxy.isEmpty() && different.isEmpty()) {
                lines.add(kind.title() + " Match (" + fromPilot.size() + ")");
                continue;
            }
            all = false;
            StringBuilder line = new StringBuilder(kind.title() + " Don't Match:");
            if (!onlyPilot.isEmpty()) {
                line.append(" served by pilot, not in the proxy: ").append(onlyPilot).append(';');
            }
            if (!onlyProxy.isEmpty()) {
                line.append(" in the proxy, not served by pilot: ").append(onlyProxy).append(';');
            }
            if (!different.isEmpty()) {
                line.append(" different: ").append(different).append(';');
            }
            lines.add(line.substring(0, line.length() - 1));
        }
        return new Result(all, lines);
    }

    private static Map<String, JsonNode> byName(JsonNode resources, String nameField) {
        Map<String, JsonNode> out = new TreeMap<>();
        resources.forEach(r -> out.put(r.path(nameField).asText(), r));
        return out;
    }
}
