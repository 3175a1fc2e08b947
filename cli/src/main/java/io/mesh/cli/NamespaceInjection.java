package io.mesh.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * istioctl analyze's IST0102 (NamespaceNotInjected, its injection.Analyzer), an info: a namespace labelled neither
 * {@code istio-injection} (any value: "disabled" says it is left out on purpose) nor {@code istio.io/rev}, so the
 * injector leaves its new pods without a sidecar. Not for istio-system and the namespaces the injector never injects
 * (kube-system, kube-public, kube-node-lease, local-path-storage), as istioctl.
 */
final class NamespaceInjection {

    private static final Set<String> SKIPPED = Set.of("istio-system", "kube-system", "kube-public", "kube-node-lease",
            "local-path-storage");

    private NamespaceInjection() {
    }

    static List<ConfigAnalyzer.Finding> find(Workloads workloads) {
        List<ConfigAnalyzer.Finding> findings = new ArrayList<>();
        for (Workloads.Namespace ns : workloads.namespaces()) {
            if (SKIPPED.contains(ns.name()) || ns.labels().containsKey("istio-injection")
                    || ns.labels().containsKey("istio.io/rev")) {
                continue;
            }
            findings.add(new ConfigAnalyzer.Finding(ns.file(), ns.line(), "info", "Namespace " + ns.name(),
                    "the namespace is not enabled for Istio injection. Run"
                            + " 'kubectl label namespace " + ns.name() + " istio-injection=enabled' to enable it, or 'kubectl"
                            + " label namespace " + ns.name() + " istio-injection=disabled' to explicitly mark it as not"
                            + " needing injection (IST0102)"));
        }
        return findings;
    }
}
