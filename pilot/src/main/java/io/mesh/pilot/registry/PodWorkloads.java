package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.mesh.pilot.model.ServiceSource.Workload;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Kubernetes pods as workloads a ServiceEntry's {@code workloadSelector} can select, read as istiod reads them (its pod
 * cache, pod.go: only pods that shouldPodBeInEndpoints and IsPodReady reach the ServiceEntry controller's workload
 * handler): a pod with a {@code status.podIP} that has not finished (phase Succeeded or Failed), is not terminating
 * ({@code metadata.deletionTimestamp}) and whose Ready condition is True. A pod that is not ready is no endpoint at all,
 * whatever PILOT_SEND_UNHEALTHY_ENDPOINTS says. Pure: reads the pod objects, never the API.
 */
final class PodWorkloads {
    /** Istio's pod label for a locality its node does not give: "region.zone.subzone" (label values have no '/'). */
    static final String LOCALITY_LABEL = "istio-locality";

    private PodWorkloads() {
    }

    /** The pods' workloads, by namespace then name (so equal informer contents give equal views). */
    static List<Workload> of(Collection<Pod> pods) {
        return of(pods, Map.of());
    }

    /** As {@link #of(Collection)}, with the pods' localities from their {@code nodes} (by name). */
    static List<Workload> of(Collection<Pod> pods, Map<String, Node> nodes) {
        List<Workload> out = new ArrayList<>();
        for (Pod p : pods) {
            Workload w = of(p, nodes);
            if (w != null) {
                out.add(w);
            }
        }
        out.sort(Comparator.comparing(Workload::namespace).thenComparing(Workload::name));
        return out;
    }

    /** The pod as a workload; null without an IP, once it has finished, while it terminates or is not ready. */
    static Workload of(Pod pod) {
        return of(pod, Map.of());
    }

    /** As {@link #of(Pod)}, its locality from its node among {@code nodes} (by name). */
    static Workload of(Pod pod, Map<String, Node> nodes) {
        var status = pod.getStatus();
        if (status == null || status.getPodIP() == null || status.getPodIP().isBlank()
                || "Succeeded".equals(status.getPhase()) || "Failed".equals(status.getPhase()) || !ready(pod)) {
            return null;
        }
        Map<String, String> labels = pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels();
        // The API server sets "default" when the pod names none.
        String sa = pod.getSpec() == null || pod.getSpec().getServiceAccountName() == null ? "default"
                : pod.getSpec().getServiceAccountName();
        String locality = locality(pod, nodes);
        return new Workload(pod.getMetadata().getNamespace(), pod.getMetadata().getName(), status.getPodIP(), labels, sa,
                locality, ports(pod), pod.getSpec() == null ? null : pod.getSpec().getNodeName());
    }

    /**
     * The pod's locality as istiod's getPodLocality finds it: its {@code istio-locality} label ("region.zone.subzone"),
     * else its node's {@code topology.kubernetes.io/region} and {@code /zone} (or the deprecated
     * {@code failure-domain.beta.kubernetes.io/} ones) and {@code topology.istio.io/subzone}, as "region/zone/subzone";
     * empty when neither says anything.
     */
    static String locality(Pod pod, Map<String, Node> nodes) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        String own = labels == null ? null : labels.get(LOCALITY_LABEL);
        if (own != null && !own.isEmpty()) {
            return own.replace('.', '/');
        }
        Node node = pod.getSpec() == null || pod.getSpec().getNodeName() == null ? null
                : nodes.get(pod.getSpec().getNodeName());
        Map<String, String> nl = node == null || node.getMetadata().getLabels() == null ? Map.of()
                : node.getMetadata().getLabels();
        String region = label(nl, "topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region");
        String zone = label(nl, "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone");
        String subzone = label(nl, "topology.istio.io/subzone", "topology.istio.io/subzone");
        return region.isEmpty() && zone.isEmpty() && subzone.isEmpty() ? "" : region + "/" + zone + "/" + subzone;
    }

    private static String label(Map<String, String> labels, String ga, String beta) {
        String v = labels.get(ga);
        return v != null && !v.isEmpty() ? v : labels.getOrDefault(beta, "");
    }

    /** Its Ready condition is True and it is not terminating (the EndpointSlice controller's "ready" too). */
    static boolean ready(Pod pod) {
        if (pod.getMetadata().getDeletionTimestamp() != null || pod.getStatus().getConditions() == null) {
            return false;
        }
        for (PodCondition c : pod.getStatus().getConditions()) {
            if ("Ready".equals(c.getType())) {
                return "True".equals(c.getStatus());
            }
        }
        return false;
    }

    /** Named TCP container ports, the first of a name winning (istiod's getPortMap). */
    static Map<String, Integer> ports(Pod pod) {
        Map<String, Integer> out = new HashMap<>();
        if (pod.getSpec() == null || pod.getSpec().getContainers() == null) {
            return out;
        }
        for (Container c : pod.getSpec().getContainers()) {
            if (c.getPorts() == null) {
                continue;
            }
            for (ContainerPort p : c.getPorts()) {
                boolean tcp = p.getProtocol() == null || "TCP".equals(p.getProtocol());
                if (p.getName() != null && !p.getName().isEmpty() && tcp && p.getContainerPort() != null) {
                    out.putIfAbsent(p.getName(), p.getContainerPort());
                }
            }
        }
        return out;
    }
}
