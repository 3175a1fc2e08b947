package io.mesh.pilot.model;

import java.util.Map;

/**
 * One workload instance behind a service. {@code ports} maps the service port number to the port the workload
 * listens on. Locality is "region/zone/subzone" (any part may be empty).
 */
public record Endpoint(String address, Map<Integer, Integer> ports, Map<String, String> labels, String locality,
        int weight, boolean healthy, String serviceAccount) {
    public Endpoint {
        ports = Map.copyOf(ports);
        labels = Map.copyOf(labels);
        locality = locality == null ? "" : locality;
    }

    public boolean matches(Map<String, String> selector) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }
}
