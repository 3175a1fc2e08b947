package io.mesh.config;

import java.util.List;
import java.util.Map;

/**
 * A validated ServiceEntry (also used for a WorkloadEntry's spec, as {@link WorkloadSpec}).
 *
 * @param addresses spec.addresses as written: IPs or CIDR blocks (validated)
 * @param exportTo  the namespaces whose proxies see its hosts ({@link ExportTo}); empty: all
 * @param trafficDistribution its {@code networking.istio.io/traffic-distribution} annotation, as istiod reads a
 *                  ServiceEntry's ({@link TrafficDistribution#ofAnnotation})
 * @param labels    its {@code metadata.labels}: istiod's service labels of its hosts (e.g. persistent sessions)
 */
public record ServiceEntry(String namespace, String name, List<String> hosts, List<Port> ports, String location,
        String resolution, List<WorkloadSpec> endpoints, Map<String, String> workloadSelector,
        List<String> addresses, List<String> exportTo, TrafficDistribution trafficDistribution,
        Map<String, String> labels) {

    /** An entry without labels. */
    public ServiceEntry(String namespace, String name, List<String> hosts, List<Port> ports, String location,
            String resolution, List<WorkloadSpec> endpoints, Map<String, String> workloadSelector,
            List<String> addresses, List<String> exportTo, TrafficDistribution trafficDistribution) {
        this(namespace, name, hosts, ports, location, resolution, endpoints, workloadSelector, addresses, exportTo,
                trafficDistribution, Map.of());
    }

    public ServiceEntry {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        trafficDistribution = trafficDistribution == null ? TrafficDistribution.ANY : trafficDistribution;
        hosts = List.copyOf(hosts);
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        exportTo = exportTo == null ? List.of() : List.copyOf(exportTo);
        ports = List.copyOf(ports);
        endpoints = List.copyOf(endpoints);
        workloadSelector = workloadSelector == null ? null : Map.copyOf(workloadSelector);
    }

    public record Port(int number, String name, String protocol, Integer targetPort) {
    }

    /** One workload: an address with per-port-name overrides, labels and where it runs. */
    /**
     * @param healthy false for a WorkloadEntry whose health is checked (annotation
     *                {@code proxy.istio.io/health-checks-enabled: "true"}) and whose status has no condition
     *                {@code Healthy: "True"}: istiod (PILOT_ENABLE_WORKLOAD_ENTRY_HEALTHCHECKS, on by default) treats it
     *                as deleted, so no ServiceEntry selects it. A ServiceEntry's own endpoints are always healthy.
     */
    public record WorkloadSpec(String address, Map<String, Integer> ports, Map<String, String> labels,
            String locality, int weight, String serviceAccount, String network, boolean healthy) {
        public WorkloadSpec {
            ports = Map.copyOf(ports);
            labels = Map.copyOf(labels);
        }

        public WorkloadSpec(String address, Map<String, Integer> ports, Map<String, String> labels, String locality,
                int weight, String serviceAccount, String network) {
            this(address, ports, labels, locality, weight, serviceAccount, network, true);
        }
    }
}
