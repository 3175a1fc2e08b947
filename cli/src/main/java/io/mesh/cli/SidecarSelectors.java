package io.mesh.cli;

import io.mesh.config.PolicyConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * istioctl analyze's IST0110 (ConflictingSidecarWorkloadSelectors, its sidecar.SelectorAnalyzer): Sidecars of one
 * namespace whose workload selectors take the same pod. Which one the pod's proxy gets is then undefined (pilot, as
 * istiod, takes the oldest). An error at each such Sidecar. Only pods that were given count, so with no pods (files
 * without Pods) nothing is reported. istioctl reports once per pod; here once per set of Sidecars, naming its pods.
 * And, as the same istioctl analyzer, IST0101 (an error) for a Sidecar whose selector takes no pod of its namespace, on
 * a cluster only (files of Deployments say nothing of which pods run).
 */
final class SidecarSelectors {

    private record Selecting(PolicyConfig.Sidecar sidecar, BiConsumer<String, String> report) {
    }

    private final List<Selecting> sidecars = new ArrayList<>();

    /** A Sidecar that validated and has a workload selector; {@code report} takes (severity, "field.path: problem"). */
    void add(PolicyConfig.Sidecar sidecar, BiConsumer<String, String> report) {
        if (!sidecar.workloadSelector().isEmpty()) {
            sidecars.add(new Selecting(sidecar, report));
        }
    }

    /** {@code allPodsKnown}: the pods are a cluster's, all of them. */
    void check(Workloads workloads, boolean allPodsKnown) {
        for (Selecting s : sidecars) {
            if (allPodsKnown && workloads.selected(s.sidecar().namespace(), s.sidecar().workloadSelector()).isEmpty()) {
                s.report().accept("error", "spec.workloadSelector: referenced selector not found: \""
                        + Workloads.selector(s.sidecar().workloadSelector()) + "\" (no pod of namespace "
                        + s.sidecar().namespace() + " on the cluster has these labels) (IST0101)");
            }
        }
        // Each pod taken by two or more Sidecars, grouped by the names of those Sidecars (sorted, as istioctl lists them).
        Map<String, Map<List<String>, List<String>>> conflicts = new TreeMap<>();
        Map<String, List<Selecting>> byNamespace = new TreeMap<>();
        sidecars.forEach(s -> byNamespace.computeIfAbsent(s.sidecar().namespace(), n -> new ArrayList<>()).add(s));
        byNamespace.forEach((namespace, list) -> {
            for (Workloads.Pod pod : workloads.selected(namespace, Map.of())) {
                List<String> names = list.stream().filter(s -> Workloads.matches(s.sidecar().workloadSelector(), pod.labels()))
                        .map(s -> s.sidecar().name()).distinct().sorted().toList();
                if (names.size() > 1) {
                    conflicts.computeIfAbsent(namespace, n -> new LinkedHashMap<>()).computeIfAbsent(names,
                            n -> new ArrayList<>()).add(pod.name());
                }
            }
        });
        conflicts.forEach((namespace, groups) -> groups.forEach((names, pods) -> {
            List<String> sorted = pods.stream().sorted().toList();
            String more = sorted.size() == 1 ? "" : " (and " + (sorted.size() - 1) + " more: " + String.join(", ",
                    sorted.subList(1, sorted.size())) + ")";
            for (Selecting s : byNamespace.get(namespace)) {
                if (names.contains(s.sidecar().name())) {
                    s.report().accept("error", "spec.workloadSelector: the Sidecars " + names + " in namespace \"" + namespace
                            + "\" select the same workload pod \"" + sorted.get(0) + "\"" + more + ", which can lead to"
                            + " undefined behavior (IST0110)");
                }
            }
        }));
    }
}
