package io.mesh.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * istioctl analyze's IST0102 (NamespaceNotInjected, its injection.Analyzer), an info: a namespace without an
 * {@code istio-injection} label (any value: "disabled" says it is left out on purpose), so the injector leaves its new
 * pods without a sidecar. istioctl also accepts an {@code istio.io/rev} label, which selects a revision's injector; this
 * mesh's webhook (deploy/kubernetes/injector.yaml) selects namespaces by {@code istio-injection=enabled} only, so a
 * namespace with only {@code istio.io/rev} is reported too, saying so. Not for istio-system and the namespaces the
 * injector never injects (kube-system, kube-public, kube-node-lease, local-path-storage), as istioctl.
 */
final class NamespaceInjection {

    private static final Set<String> SKIPPED = Set.of("istio-system", "kube-system", "kube-public", "kube-node-lease",
            "local-path-storage");

    private NamespaceInjection() {
    }

    static List<ConfigAnalyzer.Finding> find(Workloads workloads) {
        List<ConfigAnalyzer.Finding> findings = new ArrayList<>();
        for (Workloads.Namespace ns : workloads.namespaces()) {
            if (SKIPPED.contains(ns.name()) || ns.labels().containsKey("istio-injection")) {
                continue;
            }
            String revision = ns.labels().get("istio.io/rev");
            findings.add(new ConfigAnalyzer.Finding(ns.file(), ns.line(), "info", "Namespace " + ns.name(),
                    "the namespace is not enabled for Istio injection. Run 'kubectl label namespace " + ns.name()
                            + " istio-injection=enabled' to enable it, or 'kubectl label namespace " + ns.name()
                            + " istio-injection=disabled' to explicitly mark it as not needing injection"
                            + (revision == null ? "" : "; its label istio.io/rev=" + revision + " selects no injector here:"
                                    + " the mesh's webhook takes namespaces labelled istio-injection=enabled")
                            + " (IST0102)"));
        }
        return findings;
    }
}
