package io.mesh.pilot.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Whether a live object already holds what a server-side apply of {@code wanted} sets: every field {@code wanted} sets
 * has that value in the live object, but for its status, its {@code apiVersion} and {@code kind}, and its metadata but
 * the labels, annotations and owner references (the API server's name, uid, resourceVersion, generation ... are
 * not the applier's). Fields the live object has beyond them are the API server's defaults ({@code targetPort}, a
 * volume's {@code defaultMode}), other managers' (a label added by hand) or status, which an apply would leave as they
 * are: they do not make it differ. Likewise a list of maps (ports, containers, env), which server-side apply merges by
 * key, holds {@code wanted}'s when each of its items is held by one of the live items (a port added by someone else
 * stays); a list of values (a container's command) is atomic, and must be the same.
 *
 * <p>What it cannot see is what the applier set before but sets no more (a Gateway label removed, a listener's port):
 * its caller applies whenever what it would apply changed, and uses this only to tell whether an object is still as
 * its last apply left it.
 */
final class OwnedFields {
    private static final Set<String> METADATA = Set.of("labels", "annotations", "ownerReferences");

    private OwnedFields() {
    }

    /** Whether {@code live} holds every field {@code wanted} sets, as described above. */
    static boolean held(HasMetadata wanted, HasMetadata live) {
        ObjectNode want = Serialization.jsonMapper().valueToTree(wanted);
        want.remove(java.util.List.of("apiVersion", "kind", "status"));
        if (want.get("metadata") instanceof ObjectNode meta) {
            meta.retain(METADATA);
        }
        return holds(Serialization.jsonMapper().valueToTree(live), want);
    }

    /** Whether {@code live} holds {@code want}: objects by field, lists item by item, numbers by value. */
    static boolean holds(JsonNode live, JsonNode want) {
        if (want == null || want.isNull() || want.isMissingNode()) {
            return true;
        }
        boolean absent = live == null || live.isNull() || live.isMissingNode();
        if (want.isContainerNode() && want.isEmpty()) {
            // An empty map or list is not sent at all (Fabric8 leaves them out), so the live one may be missing.
            return absent || want.isObject() == live.isObject() && (want.isObject() || live.isEmpty());
        }
        if (absent) {
            return false;
        }
        if (want.isObject()) {
            if (!live.isObject()) {
                return false;
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = want.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> field = it.next();
                if (!holds(live.get(field.getKey()), field.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (want.isArray()) {
            if (!live.isArray()) {
                return false;
            }
            if (want.get(0).isObject()) {
                // A list of maps (ports, containers, env) merges by key: each item must be there, others' may be too.
                for (JsonNode item : want) {
                    boolean found = false;
                    for (JsonNode other : live) {
                        found |= holds(other, item);
                    }
                    if (!found) {
                        return false;
                    }
                }
                return true;
            }
            // A list of values is atomic: replaced whole.
            if (live.size() != want.size()) {
                return false;
            }
            for (int i = 0; i < want.size(); i++) {
                if (!holds(live.get(i), want.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (want.isNumber()) {
            return live.isNumber() && live.decimalValue().compareTo(want.decimalValue()) == 0;
        }
        return want.equals(live);
    }
}
