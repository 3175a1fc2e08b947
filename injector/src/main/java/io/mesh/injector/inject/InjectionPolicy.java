package io.mesh.injector.inject;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Istio's rules for which pods get a sidecar. The namespace label {@code istio-injection=enabled} turns it
 * on; the pod's {@code sidecar.istio.io/inject} label (or, older, annotation) overrides it either way;
 * {@code istio-injection=disabled} on the namespace wins over everything. Pods on the host network, in the
 * system namespaces, and pods that already have a sidecar are never touched.
 */
public final class InjectionPolicy {

    public static final String NAMESPACE_LABEL = "istio-injection";
    public static final String INJECT = "sidecar.istio.io/inject";
    public static final String STATUS = "sidecar.istio.io/status";
    public static final String PROXY_CONTAINER = "istio-proxy";
    static final Set<String> SYSTEM_NAMESPACES = Set.of("kube-system", "kube-public");

    private InjectionPolicy() {
    }

    /** Why the pod is left alone, or empty when it gets a sidecar. */
    static Optional<String> skipReason(PodView pod, String namespace, Map<String, String> namespaceLabels) {
        if (SYSTEM_NAMESPACES.contains(namespace)) {
            return Optional.of("namespace " + namespace + " is never injected");
        }
        if (pod.hostNetwork()) {
            return Optional.of("the pod uses the host network");
        }
        if (pod.annotations().containsKey(STATUS) || pod.names("containers").contains(PROXY_CONTAINER)) {
            return Optional.of("the pod is already injected");
        }
        String namespaceSetting = namespaceLabels.getOrDefault(NAMESPACE_LABEL, "");
        if ("disabled".equals(namespaceSetting)) {
            return Optional.of("namespace " + namespace + " has " + NAMESPACE_LABEL + "=disabled");
        }
        String podSetting = pod.labels().getOrDefault(INJECT, pod.annotations().get(INJECT));
        if (podSetting != null) {
            return parse(podSetting) ? Optional.empty()
                    : Optional.of("the pod has " + INJECT + "=" + podSetting);
        }
        return "enabled".equals(namespaceSetting) ? Optional.empty()
                : Optional.of("namespace " + namespace + " is not labelled " + NAMESPACE_LABEL + "=enabled");
    }

    /** Istio's reading of the pod setting: y/yes/true/on inject, anything else opts out. */
    private static boolean parse(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "y", "yes", "true", "on" -> true;
            default -> false;
        };
    }
}
