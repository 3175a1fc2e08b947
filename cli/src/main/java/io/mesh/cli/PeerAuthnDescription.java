package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The PeerAuthentication part of {@code meshctl x describe pod}: the mTLS mode the workload gets, composed as istiod
 * composes it ({@code authn.ComposePeerAuthentication}), and the policies that apply. The oldest policy of each level
 * counts: the root namespace's without a selector (mesh), the workload namespace's without one (namespace), and one in
 * the workload's namespace whose selector matches the pod (workload). A level whose mode is UNSET (or absent) keeps the
 * level above's; the default is PERMISSIVE. A workload policy's port-level modes show under "Port Level mTLS mode".
 */
final class PeerAuthnDescription {

    private PeerAuthnDescription() {
    }

    /** The merged mode: the workload mode, and the port modes (sorted by port). */
    record Merged(String mode, Map<Integer, String> perPort) {
    }

    /** Whether a policy applies to a pod with these labels (no selector: every pod of its namespace). */
    static boolean applies(JsonNode pa, Map<String, String> labels) {
        JsonNode selector = pa.path("spec").path("selector").path("matchLabels");
        var it = selector.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().asText().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    static Merged compose(List<JsonNode> applied, String rootNamespace) {
        JsonNode mesh = null;
        JsonNode namespace = null;
        JsonNode workload = null;
        for (JsonNode pa : applied) {
            boolean selector = pa.path("spec").path("selector").path("matchLabels").size() > 0;
            String ns = pa.path("metadata").path("namespace").asText();
            if (!selector) {
                if (ns.equals(rootNamespace)) {
                    mesh = older(mesh, pa);
                } else {
                    namespace = older(namespace, pa);
                }
            } else if (!ns.equals(rootNamespace)) {
                workload = older(workload, pa);
            }
        }
        String mode = "PERMISSIVE";
        for (JsonNode level : new JsonNode[] {mesh, namespace, workload}) {
            String m = level == null ? null : mode(level.path("spec").path("mtls"));
            if (m != null) {
                mode = m;
            }
        }
        Map<Integer, String> perPort = new TreeMap<>();
        if (workload != null) {
            String workloadMode = mode;
            workload.path("spec").path("portLevelMtls").fields().forEachRemaining(e -> {
                String m = mode(e.getValue());
                perPort.put(Integer.parseInt(e.getKey()), m == null ? workloadMode : m);
            });
        }
        return new Merged(mode, perPort);
    }

    /** The mode of an mtls block, null when UNSET or absent. */
    private static String mode(JsonNode mtls) {
        String m = mtls.path("mode").asText("UNSET");
        return m.equals("UNSET") ? null : m;
    }

    private static JsonNode older(JsonNode current, JsonNode candidate) {
        if (current == null) {
            return candidate;
        }
        String a = current.path("metadata").path("creationTimestamp").asText("");
        String b = candidate.path("metadata").path("creationTimestamp").asText("");
        return b.compareTo(a) < 0 ? candidate : current;   // RFC 3339 in UTC: text order is time order
    }

    static void print(List<JsonNode> policies, Map<String, String> labels, String rootNamespace, PrintWriter out) {
        List<JsonNode> applied = new ArrayList<>();
        for (JsonNode pa : policies) {
            if (applies(pa, labels)) {
                applied.add(pa);
            }
        }
        Merged merged = compose(applied, rootNamespace);
        out.println("Effective PeerAuthentication:");
        out.println("   Workload mTLS mode: " + merged.mode());
        if (!merged.perPort().isEmpty()) {
            out.println("   Port Level mTLS mode:");
            merged.perPort().forEach((port, mode) -> out.println("      " + port + ": " + mode));
        }
        if (!applied.isEmpty()) {
            List<String> names = new ArrayList<>();
            applied.forEach(pa -> names.add(pa.path("metadata").path("name").asText() + "."
                    + pa.path("metadata").path("namespace").asText()));
            out.println("Applied PeerAuthentication:");
            out.println("   " + String.join(", ", names));
        }
    }
}
