package io.mesh.injector.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Read-only accessors over a pod's JSON, tolerant of absent fields (API servers omit empty ones). */
record PodView(ObjectNode pod) {

    Map<String, String> labels() {
        return stringMap(pod.path("metadata").path("labels"));
    }

    Map<String, String> annotations() {
        return stringMap(pod.path("metadata").path("annotations"));
    }

    String name() {
        return pod.path("metadata").path("name").asText("");
    }

    String generateName() {
        return pod.path("metadata").path("generateName").asText("");
    }

    String namespace() {
        return pod.path("metadata").path("namespace").asText("");
    }

    String serviceAccount() {
        return pod.path("spec").path("serviceAccountName").asText("default");
    }

    boolean hostNetwork() {
        return pod.path("spec").path("hostNetwork").asBoolean(false);
    }

    List<ObjectNode> containers() {
        return objects(pod.path("spec").path("containers"));
    }

    List<ObjectNode> initContainers() {
        return objects(pod.path("spec").path("initContainers"));
    }

    List<String> names(String specList) {
        List<String> names = new ArrayList<>();
        for (ObjectNode item : objects(pod.path("spec").path(specList))) {
            names.add(item.path("name").asText(""));
        }
        return names;
    }

    /** The owning controller's kind and name, if any (a ReplicaSet for a Deployment's pod). */
    JsonNode controller() {
        for (JsonNode owner : pod.path("metadata").path("ownerReferences")) {
            if (owner.path("controller").asBoolean(false)) {
                return owner;
            }
        }
        return null;
    }

    static List<ObjectNode> objects(JsonNode array) {
        if (!(array instanceof ArrayNode items)) {
            return List.of();
        }
        List<ObjectNode> out = new ArrayList<>(items.size());
        for (JsonNode item : items) {
            if (item instanceof ObjectNode object) {
                out.add(object);
            }
        }
        return out;
    }

    static Map<String, String> stringMap(JsonNode node) {
        if (!node.isObject() || node.isEmpty()) {
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        node.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString()));
        return Collections.unmodifiableMap(out);
    }
}
