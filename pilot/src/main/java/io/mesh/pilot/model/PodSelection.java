package io.mesh.pilot.model;

import io.mesh.config.Hosts;
import io.mesh.config.ServiceEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A ServiceEntry's {@code workloadSelector} as it selects Kubernetes pods ("one or more Kubernetes pods or VM
 * workloads ... based on their labels", in the entry's namespace), as istiod's ServiceEntry controller turns a pod
 * into the entry's endpoints. A snapshot keeps these so a pod change (an endpoints-only push) recomputes the entry's
 * endpoints from the new pods without rebuilding from config. Immutable.
 *
 * @param hosts     the entry's hosts, as FQDNs: each gets the endpoints
 * @param namespace the entry's: only pods there are selected
 * @param selector  the labels a pod must all carry (never empty: a selector without labels selects nothing here)
 * @param ports     the entry's ports
 */
public record PodSelection(List<String> hosts, String namespace, Map<String, String> selector,
        List<ServiceEntry.Port> ports) {

    public PodSelection {
        hosts = List.copyOf(hosts);
        selector = Map.copyOf(selector);
        ports = List.copyOf(ports);
    }

    /** The selections of the entries that have a workloadSelector with labels, in the order given. */
    static List<PodSelection> of(List<ServiceEntry> entries) {
        List<PodSelection> out = new ArrayList<>();
        for (ServiceEntry se : entries) {
            if (se.workloadSelector() != null && !se.workloadSelector().isEmpty()) {
                out.add(new PodSelection(se.hosts().stream().map(h -> Hosts.resolve(h, se.namespace())).toList(),
                        se.namespace(), se.workloadSelector(), se.ports()));
            }
        }
        return List.copyOf(out);
    }

    public boolean selects(ServiceSource.Workload w) {
        return w.namespace().equals(namespace)
                && selector.entrySet().stream().allMatch(e -> e.getValue().equals(w.labels().get(e.getKey())));
    }

    /**
     * The pod as this entry's endpoint, as a WorkloadEntry without address overrides is: per entry port, the pod's
     * container port of the same name, else the port's {@code targetPort}, else its number (istiod's order); its
     * labels and service account (auto mTLS and the SANs). Healthy: only ready pods are workloads.
     */
    Endpoint endpoint(ServiceSource.Workload w) {
        Map<Integer, Integer> out = new HashMap<>();
        for (ServiceEntry.Port p : ports) {
            Integer named = p.name() == null ? null : w.ports().get(p.name());
            out.put(p.number(), named != null ? named : p.targetPort() != null ? p.targetPort() : p.number());
        }
        return new Endpoint(w.ip(), out, w.labels(), w.locality(), 1, Endpoint.Health.HEALTHY, w.serviceAccount(),
                w.node());
    }

    /** By FQDN host, the endpoints these selections give the workloads: nothing when there is no selection. */
    static Map<String, List<Endpoint>> endpoints(List<PodSelection> selections,
            List<ServiceSource.Workload> workloads) {
        if (selections.isEmpty() || workloads.isEmpty()) {
            return Map.of();
        }
        Map<String, List<Endpoint>> out = new TreeMap<>();
        for (PodSelection s : selections) {
            List<Endpoint> eps = new ArrayList<>();
            for (ServiceSource.Workload w : workloads) {
                if (s.selects(w)) {
                    eps.add(s.endpoint(w));
                }
            }
            if (!eps.isEmpty()) {
                for (String host : s.hosts) {
                    out.computeIfAbsent(host, h -> new ArrayList<>()).addAll(eps);
                }
            }
        }
        return out;
    }
}
