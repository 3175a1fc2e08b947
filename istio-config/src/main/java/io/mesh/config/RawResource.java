package io.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * One resource as read from YAML or the Kubernetes API, before validation. {@code spec} is a private deep copy
 * that nothing mutates; {@code origin} says where it came from (a file, or "kubernetes"); {@code created} is its
 * {@code metadata.creationTimestamp}, or null when it has none (a YAML file may leave it out); {@code annotations}
 * its {@code metadata.annotations}; {@code status} its {@code status} (a private deep copy), or null (a WorkloadEntry's
 * health is there); {@code labels} its {@code metadata.labels} (a Namespace's select it for a Gateway API listener).
 */
public record RawResource(String apiVersion, String kind, String namespace, String name, JsonNode spec,
        String origin, Instant created, java.util.Map<String, String> annotations, JsonNode status,
        java.util.Map<String, String> labels) {

    public RawResource {
        spec = spec == null ? null : spec.deepCopy();
        annotations = annotations == null ? java.util.Map.of() : java.util.Map.copyOf(annotations);
        status = status == null || status.isNull() || status.isMissingNode() ? null : status.deepCopy();
        labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
    }

    /** A resource without labels. */
    public RawResource(String apiVersion, String kind, String namespace, String name, JsonNode spec, String origin,
            Instant created, java.util.Map<String, String> annotations, JsonNode status) {
        this(apiVersion, kind, namespace, name, spec, origin, created, annotations, status, null);
    }

    /** A resource without annotations or status. */
    public RawResource(String apiVersion, String kind, String namespace, String name, JsonNode spec, String origin,
            Instant created) {
        this(apiVersion, kind, namespace, name, spec, origin, created, null, null);
    }

    /** A {@code metadata.creationTimestamp} (RFC 3339, as the API server writes it), or null when absent or malformed. */
    public static Instant timestamp(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    public ConfigKey key() {
        return new ConfigKey(Kind.keyName(apiVersion, kind), namespace, name);
    }
}
