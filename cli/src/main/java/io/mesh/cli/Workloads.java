package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Kubernetes side of what {@code meshctl analyze} was given: Pods, Namespaces and Services (their selectors and
 * ports), from files or from a cluster, for the analyzers that ask which workloads a selector takes (IST0110, IST0127,
 * IST0162) and which namespaces are injected (IST0102). Pods may be few or none: files rarely hold Pods (Deployments
 * instead), so {@link #podsIn} tells the analyzers whether a namespace's workloads are known at all. It only reads;
 * it decides nothing about Istio resources.
 */
final class Workloads {

    /** One pod: its labels and annotations, and the names of its containers (init containers too). */
    record Pod(String namespace, String name, Map<String, String> labels, Map<String, String> annotations,
            List<String> containers) {
    }

    /** One namespace, with where it was read (file and line; "" and 0 on a cluster). */
    record Namespace(String name, Map<String, String> labels, String file, int line) {
    }

    /** One Service port: its number, its numeric targetPort (null when unset or named) and protocol. */
    record ServicePort(int port, Integer targetPort, String protocol) {
    }

    /** One Service: its pod selector (empty: it selects no pod, as Kubernetes) and ports. */
    record Service(String namespace, String name, Map<String, String> selector, List<ServicePort> ports) {
    }

    private static final String INJECT = "sidecar.istio.io/inject";

    private final List<Pod> pods = new ArrayList<>();
    private final Map<String, Namespace> namespaces = new LinkedHashMap<>();
    private final List<Service> services = new ArrayList<>();

    void pod(String namespace, JsonNode node) {
        List<String> containers = new ArrayList<>();
        for (String field : List.of("containers", "initContainers")) {
            node.path("spec").path(field).forEach(c -> containers.add(c.path("name").asText()));
        }
        pods.add(new Pod(namespace, node.path("metadata").path("name").asText(), strings(node.path("metadata").path("labels")),
                strings(node.path("metadata").path("annotations")), List.copyOf(containers)));
    }

    void namespace(JsonNode node, String file, int line) {
        String name = node.path("metadata").path("name").asText();
        namespaces.put(name, new Namespace(name, strings(node.path("metadata").path("labels")), file, line));
    }

    void service(String namespace, JsonNode node) {
        List<ServicePort> ports = new ArrayList<>();
        node.path("spec").path("ports").forEach(p -> ports.add(new ServicePort(p.path("port").asInt(),
                p.path("targetPort").isInt() ? Integer.valueOf(p.path("targetPort").asInt()) : null,
                p.path("protocol").asText("TCP"))));
        services.add(new Service(namespace, node.path("metadata").path("name").asText(),
                strings(node.path("spec").path("selector")), List.copyOf(ports)));
    }

    List<Namespace> namespaces() {
        return List.copyOf(namespaces.values());
    }

    /** Whether any pod of {@code namespace} was given (null: of any namespace). */
    boolean podsIn(String namespace) {
        return pods.stream().anyMatch(p -> namespace == null || p.namespace().equals(namespace));
    }

    /** The pods of {@code namespace} (null: every namespace) whose labels have every label of {@code selector}. */
    List<Pod> selected(String namespace, Map<String, String> selector) {
        return pods.stream().filter(p -> (namespace == null || p.namespace().equals(namespace)) && matches(selector, p.labels()))
                .toList();
    }

    /** The Services of the pod's namespace that select it. */
    List<Service> servicesOf(Pod pod) {
        return services.stream().filter(s -> s.namespace().equals(pod.namespace()) && !s.selector().isEmpty()
                && matches(s.selector(), pod.labels())).toList();
    }

    /**
     * Whether the pod is in the mesh, as istioctl's analyzers decide it (util.PodInMesh): it has an istio-proxy
     * container; else its own {@code sidecar.istio.io/inject} label, then annotation, says "true"; else its namespace
     * (when known) is labelled {@code istio-injection=enabled}.
     */
    boolean inMesh(Pod pod) {
        if (pod.containers().contains("istio-proxy")) {
            return true;
        }
        if (pod.labels().containsKey(INJECT)) {
            return "true".equals(pod.labels().get(INJECT));
        }
        if (pod.annotations().containsKey(INJECT)) {
            return "true".equals(pod.annotations().get(INJECT));
        }
        Namespace ns = namespaces.get(pod.namespace());
        return ns != null && "enabled".equals(ns.labels().get("istio-injection"));
    }

    static boolean matches(Map<String, String> selector, Map<String, String> labels) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }

    /** A selector as Kubernetes writes one: "k1=v1,k2=v2", by key. */
    static String selector(Map<String, String> labels) {
        List<String> parts = new ArrayList<>();
        new TreeMap<>(labels).forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(",", parts);
    }

    private static Map<String, String> strings(JsonNode map) {
        Map<String, String> out = new HashMap<>();
        map.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        return Map.copyOf(out);
    }
}
