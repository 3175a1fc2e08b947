package io.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Splits a multi-document YAML file into resources; "List" objects are flattened as kubectl does. */
public final class YamlDocuments {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private YamlDocuments() {
    }

    /** A document that is not a resource at all (no kind, broken YAML) is reported as {@code error}. */
    public record Parsed(List<RawResource> resources, List<String> errors) {
    }

    public static Parsed parse(String text, String origin) {
        List<RawResource> out = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
            int index = 0;
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                index++;
                if (doc == null || doc.isNull() || doc.isMissingNode() || (doc.isObject() && doc.isEmpty())) {
                    continue;
                }
                collect(doc, origin + "#" + index, out, errors);
            }
        } catch (IOException | RuntimeException e) {
            errors.add(origin + ": invalid YAML: " + e.getMessage().lines().findFirst().orElse(""));
        }
        return new Parsed(out, errors);
    }

    private static void collect(JsonNode doc, String origin, List<RawResource> out, List<String> errors) {
        if (!doc.isObject() || !doc.hasNonNull("kind")) {
            errors.add(origin + ": not a Kubernetes resource (no kind)");
            return;
        }
        if (doc.get("kind").asText().equals("List") && doc.has("items")) {
            doc.get("items").forEach(i -> collect(i, origin, out, errors));
            return;
        }
        JsonNode meta = doc.path("metadata");
        String ns = meta.path("namespace").asText("");
        // A ConfigMap has no spec: its data is what is read of it (local mode's CA ConfigMaps).
        boolean configMap = "v1".equals(doc.path("apiVersion").asText()) && "ConfigMap".equals(doc.get("kind").asText());
        out.add(new RawResource(doc.path("apiVersion").asText(""), doc.get("kind").asText(),
                ns.isEmpty() ? "default" : ns, meta.path("name").asText(""), doc.get(configMap ? "data" : "spec"), origin,
                RawResource.timestamp(meta.path("creationTimestamp").asText(null)), strings(meta, "annotations"),
                doc.get("status"), strings(meta, "labels")));
    }

    /** {@code metadata.annotations} or {@code labels}, string values only (as the API server keeps them). */
    private static java.util.Map<String, String> strings(JsonNode meta, String field) {
        java.util.Map<String, String> out = new java.util.HashMap<>();
        meta.path(field).fields().forEachRemaining(e -> {
            if (e.getValue().isValueNode() && !e.getValue().isNull()) {
                out.put(e.getKey(), e.getValue().asText());
            }
        });
        return out;
    }
}
