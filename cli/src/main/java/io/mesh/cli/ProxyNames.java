package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the proxy a user means among those connected to pilot ({@code /debug/syncz}): its full node id, a unique
 * prefix of it, or its pod name ({@code pod} or {@code pod.namespace}, the third field of an Istio node id
 * {@code type~ip~pod.namespace~namespace.svc.cluster.local}).
 */
final class ProxyNames {

    /** No proxy, or more than one, matches; the message lists what there is. */
    static final class NotFound extends Exception {
        NotFound(String message) {
            super(message);
        }
    }

    private ProxyNames() {
    }

    static String resolve(JsonNode syncz, String wanted) throws NotFound {
        List<String> ids = new ArrayList<>();
        for (JsonNode proxy : syncz) {
            ids.add(proxy.path("proxy").asText());
        }
        if (ids.contains(wanted)) {
            return wanted;
        }
        List<String> byPod = ids.stream().filter(id -> podNames(id).contains(wanted)).toList();
        if (byPod.size() == 1) {
            return byPod.get(0);
        }
        List<String> byPrefix = ids.stream().filter(id -> id.startsWith(wanted)).toList();
        if (byPrefix.size() == 1 && byPod.isEmpty()) {
            return byPrefix.get(0);
        }
        List<String> candidates = byPod.isEmpty() ? byPrefix : byPod;
        if (candidates.size() > 1) {
            throw new NotFound("\"" + wanted + "\" matches " + candidates.size() + " proxies; give one of:\n  "
                    + String.join("\n  ", candidates));
        }
        throw new NotFound(ids.isEmpty() ? "no proxy is connected to pilot, so there is no \"" + wanted + "\""
                : "no connected proxy is \"" + wanted + "\"; connected:\n  " + String.join("\n  ", ids));
    }

    /** "gw-1.istio-system" and "gw-1" for router~10.0.0.1~gw-1.istio-system~istio-system.svc.cluster.local. */
    static List<String> podNames(String id) {
        String[] fields = id.split("~");
        if (fields.length < 3 || fields[2].isEmpty()) {
            return List.of();
        }
        String pod = fields[2];
        int dot = pod.indexOf('.');
        return dot > 0 ? List.of(pod, pod.substring(0, dot)) : List.of(pod);
    }
}
