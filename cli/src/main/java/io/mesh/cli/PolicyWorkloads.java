package io.mesh.cli;

import io.mesh.config.PolicyConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * istioctl analyze's IST0127 (NoMatchingWorkloadsFound, its authz.AuthorizationPoliciesAnalyzer), a warning: an
 * AuthorizationPolicy that applies to no pod in the mesh ({@link Workloads#inMesh}). With a selector, no such pod of its
 * namespace has the labels; without one, its namespace has no such pod. In the root namespace (istio-system, Istio's
 * default rootNamespace; the mesh config is not read) a policy applies mesh-wide: with a selector, a pod of any namespace
 * may match; without one it is never reported. From a cluster every pod is known; from files only the namespaces whose
 * Pods the files hold are checked (files of Deployments say nothing about which pods run).
 */
final class PolicyWorkloads {

    static final String ROOT_NAMESPACE = "istio-system";

    private record Policy(PolicyConfig.AuthorizationPolicy policy, BiConsumer<String, String> report) {
    }

    private final List<Policy> policies = new ArrayList<>();

    /** An AuthorizationPolicy that validated; {@code report} takes (severity, "field.path: problem"). */
    void add(PolicyConfig.AuthorizationPolicy policy, BiConsumer<String, String> report) {
        policies.add(new Policy(policy, report));
    }

    /** {@code allPodsKnown}: the pods are a cluster's, all of them. */
    void check(Workloads workloads, boolean allPodsKnown) {
        for (Policy p : policies) {
            String namespace = p.policy().namespace();
            boolean root = namespace.equals(ROOT_NAMESPACE);
            if ((root && p.policy().selector().isEmpty()) || (!allPodsKnown && !workloads.podsIn(root ? null : namespace))) {
                continue;
            }
            boolean applies = workloads.selected(root ? null : namespace, p.policy().selector()).stream()
                    .anyMatch(workloads::inMesh);
            if (applies) {
                continue;
            }
            String where = root ? "in any namespace" : "in namespace " + namespace;
            p.report().accept("warning", p.policy().selector().isEmpty()
                    ? "spec: no matching workloads for this resource (it has no selector, and no pod in the mesh runs " + where
                            + ") (IST0127)"
                    : "spec.selector.matchLabels: no matching workloads for this resource with the following labels: "
                            + Workloads.selector(p.policy().selector()) + " (no pod in the mesh " + where + " has them)"
                            + " (IST0127)");
        }
    }
}
