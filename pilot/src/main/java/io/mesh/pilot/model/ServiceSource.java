package io.mesh.pilot.model;

import java.util.List;
import java.util.Map;

/** A registry of services that is not Istio config (Kubernetes Services, EndpointSlices and Pods). */
public interface ServiceSource {
    /** An immutable view, taken when a snapshot is built. */
    View view();

    /**
     * {@code aliases}: Kubernetes ExternalName Services ({@link ServiceAlias}). {@code workloads}: the cluster's pods
     * that have an IP, have not finished, are not terminating and are ready, which a ServiceEntry's
     * {@code workloadSelector} selects as it selects WorkloadEntries. {@code selectors}: by FQDN, the pod selector of
     * each Kubernetes Service that has one (which pods serve a Gateway API Gateway whose address names the Service).
     * {@code namespaces}: by name, the labels of each Namespace (which a Gateway API listener's namespace selector
     * selects).
     */
    record View(List<ServiceModel> services, Map<String, List<Endpoint>> endpoints, List<ServiceAlias> aliases,
            List<Workload> workloads, Map<String, Map<String, String>> selectors,
            Map<String, Map<String, String>> namespaces) {
        public static final View EMPTY = new View(List.of(), Map.of());

        public View {
            services = List.copyOf(services);
            endpoints = Map.copyOf(endpoints);
            aliases = aliases == null ? List.of() : List.copyOf(aliases);
            workloads = workloads == null ? List.of() : List.copyOf(workloads);
            selectors = selectors == null ? Map.of() : Map.copyOf(selectors);
            namespaces = namespaces == null ? Map.of() : Map.copyOf(namespaces);
        }

        /** Without Namespaces' labels. */
        public View(List<ServiceModel> services, Map<String, List<Endpoint>> endpoints, List<ServiceAlias> aliases,
                List<Workload> workloads, Map<String, Map<String, String>> selectors) {
            this(services, endpoints, aliases, workloads, selectors, Map.of());
        }

        /** This view with {@code namespaces} as the Namespaces' labels (local mode's, from the config folder). */
        public View withNamespaces(Map<String, Map<String, String>> namespaces) {
            return new View(services, endpoints, aliases, workloads, selectors, namespaces);
        }

        /** Without Services' pod selectors. */
        public View(List<ServiceModel> services, Map<String, List<Endpoint>> endpoints, List<ServiceAlias> aliases,
                List<Workload> workloads) {
            this(services, endpoints, aliases, workloads, Map.of());
        }

        public View(List<ServiceModel> services, Map<String, List<Endpoint>> endpoints, List<ServiceAlias> aliases) {
            this(services, endpoints, aliases, List.of());
        }

        public View(List<ServiceModel> services, Map<String, List<Endpoint>> endpoints) {
            this(services, endpoints, List.of(), List.of());
        }
    }

    /**
     * One ready Kubernetes pod as a workload (Istio's WorkloadInstance): its IP, labels, service account (Kubernetes'
     * "default" when it names none), its locality ("region/zone/subzone", may be empty), its named container ports,
     * which win over a ServiceEntry port's {@code targetPort} as a WorkloadEntry's {@code ports} do, and the node it
     * runs on ({@code spec.nodeName}, may be empty).
     */
    record Workload(String namespace, String name, String ip, Map<String, String> labels, String serviceAccount,
            String locality, Map<String, Integer> ports, String node) {
        public Workload {
            labels = labels == null ? Map.of() : Map.copyOf(labels);
            locality = locality == null ? "" : locality;
            ports = ports == null ? Map.of() : Map.copyOf(ports);
            node = node == null ? "" : node;
        }

        public Workload(String namespace, String name, String ip, Map<String, String> labels, String serviceAccount,
                String locality, Map<String, Integer> ports) {
            this(namespace, name, ip, labels, serviceAccount, locality, ports, "");
        }

        public Workload(String namespace, String name, String ip, Map<String, String> labels, String serviceAccount,
                String locality) {
            this(namespace, name, ip, labels, serviceAccount, locality, Map.of());
        }
    }
}
