package io.mesh.pilot.model;

import java.util.Map;

/**
 * One workload instance behind a service. {@code ports} maps the service port number to the port the workload
 * listens on. Locality is "region/zone/subzone" (any part may be empty). {@code health} is what the registry says of
 * it (istiod's model.HealthStatus); EDS decides from it whether the endpoint is sent ({@link #sentBy}). {@code node}
 * is the Kubernetes node its pod runs on ({@code spec.nodeName}; empty when not a known pod): istiod's
 * {@code kubernetes.io/hostname} endpoint label, which {@code PreferSameNode} compares with the proxy's.
 */
public record Endpoint(String address, Map<Integer, Integer> ports, Map<String, String> labels, String locality,
        int weight, Health health, String serviceAccount, String node) {

    /**
     * Istio's pod label (PILOT_DRAINING_LABEL's default): an endpoint carrying it with any value is DRAINING, whatever
     * its registry says.
     */
    public static final String DRAINING_LABEL = "istio.io/draining";

    /**
     * istiod's endpoint health statuses. An EndpointSlice endpoint that is ready is HEALTHY; one not ready is
     * TERMINATING when its pod is shutting down, DRAINING instead when it still serves and its Service keeps sessions
     * ({@code istio.io/persistent-session}), else UNHEALTHY.
     */
    public enum Health {
        HEALTHY, UNHEALTHY, DRAINING, TERMINATING
    }

    public Endpoint {
        ports = Map.copyOf(ports);
        labels = Map.copyOf(labels);
        locality = locality == null ? "" : locality;
        health = health == null ? Health.HEALTHY : health;
        node = node == null ? "" : node;
    }

    /** An endpoint on no known node. */
    public Endpoint(String address, Map<Integer, Integer> ports, Map<String, String> labels, String locality,
            int weight, Health health, String serviceAccount) {
        this(address, ports, labels, locality, weight, health, serviceAccount, "");
    }

    /** A healthy endpoint (ServiceEntry endpoints, WorkloadEntries and the pods ServiceEntries select). */
    public Endpoint(String address, Map<Integer, Integer> ports, Map<String, String> labels, String locality,
            int weight, String serviceAccount) {
        this(address, ports, labels, locality, weight, Health.HEALTHY, serviceAccount);
    }

    public boolean healthy() {
        return effectiveHealth() == Health.HEALTHY;
    }

    /** Its health as EDS states it: DRAINING when it carries {@link #DRAINING_LABEL}, else the registry's. */
    public Health effectiveHealth() {
        String draining = labels.get(DRAINING_LABEL);
        return draining != null && !draining.isEmpty() ? Health.DRAINING : health;
    }

    /**
     * Whether istiod's EDS sends this endpoint of {@code service}: never a TERMINATING one; an UNHEALTHY one (not
     * ready) only for a service that sends them ({@link ServiceModel#sendsUnhealthyEndpoints}: a traffic distribution,
     * or {@code everyService}, PILOT_SEND_UNHEALTHY_ENDPOINTS); a DRAINING one (by status or label) only to a
     * persistent-session service. The registry's health first, so an UNHEALTHY one carrying the draining label is left
     * out unless both apply (endpoint_builder.go filterIstioEndpoint).
     */
    public boolean sentBy(ServiceModel service, boolean everyServiceSendsUnhealthy) {
        if (health == Health.TERMINATING) {
            return false;
        }
        if (health == Health.UNHEALTHY && (service == null
                ? !everyServiceSendsUnhealthy : !service.sendsUnhealthyEndpoints(everyServiceSendsUnhealthy))) {
            return false;
        }
        return effectiveHealth() != Health.DRAINING || service != null && service.persistentSession() != null
                && service.persistentSession().sendsDrainingEndpoints();
    }

    public boolean matches(Map<String, String> selector) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }
}
