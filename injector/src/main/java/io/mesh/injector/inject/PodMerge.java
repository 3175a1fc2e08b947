package io.mesh.injector.inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Merges a rendered template (a partial Pod) into a copy of the pod, the way the built-in template's header
 * describes, and records what was added in {@code sidecar.istio.io/status}.
 */
final class PodMerge {

    /** The lists the template appends to, by name; {@code sidecar.istio.io/status} lists what it added. */
    private static final List<String> NAMED_LISTS = List.of("initContainers", "containers", "volumes");
    private static final Map<String, String> SINGULAR = Map.of(
            "initContainers", "init container", "containers", "container", "volumes", "volume");
    private static final ObjectMapper JSON = new ObjectMapper();

    private PodMerge() {
    }

    static void merge(ObjectNode pod, ObjectNode overlay, boolean proxyFirst) {
        ObjectNode metadata = object(pod, "metadata");
        JsonNode overlayMetadata = overlay.path("metadata");
        for (String map : List.of("labels", "annotations")) {
            JsonNode values = overlayMetadata.path(map);
            if (values.isObject() && !values.isEmpty()) {
                ObjectNode target = object(metadata, map);
                values.fields().forEachRemaining(e -> target.put(e.getKey(), e.getValue().isTextual()
                        ? e.getValue().asText() : e.getValue().toString()));
            }
        }

        ObjectNode spec = object(pod, "spec");
        JsonNode overlaySpec = overlay.path("spec");
        Map<String, List<String>> added = new LinkedHashMap<>();
        for (String list : NAMED_LISTS) {
            added.put(list, append(spec, list, overlaySpec.path(list)));
        }
        overlaySpec.fields().forEachRemaining(e -> {
            if (!NAMED_LISTS.contains(e.getKey()) && !spec.has(e.getKey())) {
                spec.set(e.getKey(), e.getValue().deepCopy());
            }
        });
        if (proxyFirst && spec.get("containers") instanceof ArrayNode containers) {
            moveFirst(containers, InjectionPolicy.PROXY_CONTAINER);
        }

        ObjectNode status = JSON.createObjectNode();
        added.forEach((list, names) -> status.set(list, JSON.valueToTree(names)));
        status.putNull("imagePullSecrets");
        status.put("revision", "default");
        try {
            object(metadata, "annotations").put(InjectionPolicy.STATUS, JSON.writeValueAsString(status));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> append(ObjectNode spec, String list, JsonNode items) {
        if (items.isMissingNode() || items.isNull()) {
            return List.of();
        }
        if (!items.isArray()) {
            throw new InjectionRefused("the injection template's spec." + list + " must be a list");
        }
        ArrayNode target = spec.get(list) instanceof ArrayNode existing ? existing : spec.putArray(list);
        Set<String> taken = new HashSet<>();
        target.forEach(item -> taken.add(item.path("name").asText("")));
        List<String> names = new ArrayList<>();
        for (JsonNode item : items) {
            String name = item.path("name").asText("");
            if (name.isEmpty()) {
                throw new InjectionRefused("the injection template has an item without a name in spec." + list);
            }
            if (!taken.add(name)) {
                throw new InjectionRefused("the pod already has a " + SINGULAR.get(list) + " named '" + name
                        + "', which the sidecar needs; rename it or opt the pod out with sidecar.istio.io/inject: \"false\"");
            }
            target.add(item.deepCopy());
            names.add(name);
        }
        return names;
    }

    private static void moveFirst(ArrayNode containers, String name) {
        for (int i = 1; i < containers.size(); i++) {
            if (name.equals(containers.get(i).path("name").asText())) {
                containers.insert(0, containers.remove(i));
                return;
            }
        }
    }

    private static ObjectNode object(ObjectNode parent, String field) {
        return parent.get(field) instanceof ObjectNode existing ? existing : parent.putObject(field);
    }
}
