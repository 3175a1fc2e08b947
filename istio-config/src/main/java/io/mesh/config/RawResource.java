package io.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One resource as read from YAML or the Kubernetes API, before validation. {@code spec} is a private deep copy
 * that nothing mutates; {@code origin} says where it came from (a file, or "kubernetes").
 */
public record RawResource(String apiVersion, String kind, String namespace, String name, JsonNode spec,
        String origin) {

    public RawResource {
        spec = spec == null ? null : spec.deepCopy();
    }

    public ConfigKey key() {
        return new ConfigKey(kind, namespace, name);
    }
}
