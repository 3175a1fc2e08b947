package io.mesh.cli;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * istioctl analyze's IST0103 (PodMissingProxy), on a cluster: a running pod that the injector's rules select (its
 * namespace labelled {@code istio-injection=enabled}, or its own {@code sidecar.istio.io/inject} label or annotation
 * saying yes, and the namespace not {@code istio-injection=disabled}) but that has no {@code istio-proxy} container,
 * usually one created before the label was set. A warning, with istioctl's hint. The rules are the injector's
 * ({@code InjectionPolicy}): host-network pods and kube-system/kube-public are never injected.
 */
final class MissingProxies {

    private static final Set<String> NEVER_INJECTED = Set.of("kube-system", "kube-public");
    private static final String INJECT = "sidecar.istio.io/inject";

    private MissingProxies() {
    }

    /** The findings for the cluster's {@code namespaces} and {@code pods}. */
    static List<ConfigAnalyzer.Finding> find(List<Namespace> namespaces, List<Pod> pods) {
        Map<String, String> injection = new HashMap<>();
        for (Namespace ns : namespaces) {
            Map<String, String> labels = ns.getMetadata().getLabels();
            injection.put(ns.getMetadata().getName(), labels == null ? "" : labels.getOrDefault("istio-injection", ""));
        }
        List<ConfigAnalyzer.Finding> findings = new ArrayList<>();
        for (Pod pod : pods) {
            String namespace = pod.getMetadata().getNamespace();
            if (selected(pod, injection.getOrDefault(namespace, "")) && NEVER_INJECTED.stream().noneMatch(namespace::equals)
                    && pod.getSpec().getContainers().stream().noneMatch(c -> "istio-proxy".equals(c.getName()))) {
                findings.add(new ConfigAnalyzer.Finding("", 0, "warning", "Pod " + namespace + "/" + pod.getMetadata().getName(),
                        "the pod is missing the Istio proxy. This can often be resolved by restarting or redeploying the"
                                + " workload (IST0103)"));
            }
        }
        return findings;
    }

    private static boolean selected(Pod pod, String namespaceSetting) {
        if ("disabled".equals(namespaceSetting) || Boolean.TRUE.equals(pod.getSpec().getHostNetwork())
                || "Succeeded".equals(phase(pod)) || "Failed".equals(phase(pod))) {
            return false;
        }
        Map<String, String> labels = pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels();
        Map<String, String> annotations = pod.getMetadata().getAnnotations() == null ? Map.of()
                : pod.getMetadata().getAnnotations();
        String podSetting = labels.getOrDefault(INJECT, annotations.get(INJECT));
        if (podSetting != null) {
            return switch (podSetting.trim().toLowerCase(Locale.ROOT)) {
                case "y", "yes", "true", "on" -> true;
                default -> false;
            };
        }
        return "enabled".equals(namespaceSetting);
    }

    private static String phase(Pod pod) {
        return pod.getStatus() == null ? null : pod.getStatus().getPhase();
    }
}
