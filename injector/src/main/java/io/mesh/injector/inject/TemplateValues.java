package io.mesh.injector.inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the values a template sees for one pod (documented at the top of the built-in template). Plain
 * maps, so the template engine needs no reflection.
 */
final class TemplateValues {

    static final String DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TemplateValues() {
    }

    static Map<String, Object> of(PodView pod, String namespace, PodOverrides overrides, MeshSettings mesh,
            Map<String, ObjectNode> probers) {
        Map<String, String> labels = pod.labels();
        Map<String, String> annotations = pod.annotations();

        Map<String, Object> podValues = new LinkedHashMap<>();
        podValues.put("name", pod.name().isEmpty() ? pod.generateName() : pod.name());
        podValues.put("namespace", namespace);
        podValues.put("serviceAccount", pod.serviceAccount());
        podValues.put("canonicalName", first(labels, "service.istio.io/canonical-name", "app.kubernetes.io/name", "app")
                .orElse(workloadName(pod)));
        podValues.put("canonicalRevision", first(labels, "service.istio.io/canonical-revision",
                "app.kubernetes.io/version", "version").orElse("latest"));
        podValues.put("defaultContainer", annotations.getOrDefault(DEFAULT_CONTAINER,
                pod.containers().get(0).path("name").asText("")));
        PodWorkload workload = PodWorkload.of(pod, namespace);
        podValues.put("workloadName", workload.name());
        podValues.put("owner", workload.owner());

        List<Map<String, Object>> metadata = new ArrayList<>();
        overrides.proxyMetadata().forEach((k, v) -> metadata.add(Map.of("name", k, "value", v)));
        Map<String, Object> proxy = new LinkedHashMap<>();
        proxy.put("image", mesh.proxyImage());
        proxy.put("imagePullPolicy", mesh.imagePullPolicy());
        proxy.put("uid", mesh.proxyUid());
        proxy.put("cpuRequest", overrides.cpuRequest());
        proxy.put("memoryRequest", overrides.memoryRequest());
        proxy.put("cpuLimit", overrides.cpuLimit());
        proxy.put("memoryLimit", overrides.memoryLimit());
        proxy.put("holdApplicationUntilProxyStarts", overrides.holdApplicationUntilProxyStarts());
        proxy.put("metadata", metadata);
        proxy.put("logLevel", overrides.logLevel());
        proxy.put("componentLogLevel", overrides.componentLogLevel());
        proxy.put("terminationDrainSeconds", Long.toString(overrides.terminationDrainSeconds()));

        Map<String, Object> capture = new LinkedHashMap<>();
        capture.put("includeOutboundIpRanges", overrides.includeOutboundIpRanges());
        capture.put("excludeOutboundIpRanges", overrides.excludeOutboundIpRanges());
        capture.put("includeInboundPorts", overrides.includeInboundPorts());
        capture.put("excludeInboundPorts", overrides.excludeInboundPorts());
        capture.put("excludeOutboundPorts", overrides.excludeOutboundPorts());

        Map<String, Object> meshValues = new LinkedHashMap<>();
        meshValues.put("pilotAddress", mesh.pilotAddress());
        meshValues.put("citadelAddress", mesh.citadelAddress());
        meshValues.put("trustDomain", mesh.trustDomain());
        meshValues.put("tokenAudience", mesh.tokenAudience());
        meshValues.put("caRootConfigMap", mesh.caRootConfigMap());

        Map<String, Object> app = new LinkedHashMap<>();
        app.put("probers", probers.isEmpty() ? "" : json(probers));
        boolean scrape = !"false".equalsIgnoreCase(annotations.getOrDefault("prometheus.io/scrape", "").trim());
        app.put("scrape", scrape);
        Map<String, String> prometheus = new LinkedHashMap<>();
        for (String key : List.of("scrape", "path", "port")) {
            String value = annotations.get("prometheus.io/" + key);
            if (value != null) {
                prometheus.put(key, value);
            }
        }
        app.put("prometheusAnnotations", scrape && !prometheus.isEmpty() ? json(prometheus) : "");

        return Map.of("pod", podValues, "proxy", proxy, "capture", capture, "mesh", meshValues, "app", app);
    }

    private static java.util.Optional<String> first(Map<String, String> labels, String... keys) {
        for (String key : keys) {
            String value = labels.get(key);
            if (value != null && !value.isBlank()) {
                return java.util.Optional.of(value);
            }
        }
        return java.util.Optional.empty();
    }

    /** The Deployment's name for a ReplicaSet's pod, else the controller's, else the pod's own. */
    private static String workloadName(PodView pod) {
        JsonNode controller = pod.controller();
        if (controller != null) {
            String name = controller.path("name").asText("");
            String hash = pod.labels().get("pod-template-hash");
            if ("ReplicaSet".equals(controller.path("kind").asText()) && hash != null && name.endsWith("-" + hash)) {
                return name.substring(0, name.length() - hash.length() - 1);
            }
            if (!name.isEmpty()) {
                return name;
            }
        }
        if (!pod.name().isEmpty()) {
            return pod.name();
        }
        String generated = pod.generateName();
        return generated.endsWith("-") ? generated.substring(0, generated.length() - 1) : generated;
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
