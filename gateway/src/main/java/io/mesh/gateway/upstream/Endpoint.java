package io.mesh.gateway.upstream;

/**
 * An upstream address as EDS (or a static load assignment) lists it. {@code priority}: its LocalityLbEndpoints'
 * priority (0 first); {@code locality}: its locality's key ("region/zone/subzone") and {@code localityWeight} that
 * locality's load_balancing_weight, used by locality-weighted clusters only. {@code health}: its EDS health_status as
 * Envoy reads it ({@link Health}). {@code socketMatch}: the fields of its {@code envoy.transport_socket_match} filter
 * metadata, which the cluster's {@link TransportSocketMatch}es are matched against (istiod writes
 * {@code {tlsMode: istio}} on endpoints that take mesh mTLS); empty for none.
 */
public record Endpoint(String host, int port, int weight, int priority, String locality, int localityWeight,
        Health health, java.util.Map<String, com.google.protobuf.Value> socketMatch) {

    /**
     * Envoy's host health from EDS (envoy source/common/upstream/upstream_impl.cc, setEdsHealthFlag and
     * partitionHostList): UNHEALTHY (and TIMEOUT) is a host that is not healthy, counted in its priority's total;
     * DRAINING is an excluded host, counted nowhere; both are picked only in panic. DEGRADED takes the load its priority's
     * healthy hosts cannot. UNKNOWN and HEALTHY are healthy. The order is {@link EndpointState}'s health codes.
     */
    public enum Health {
        HEALTHY, DEGRADED, UNHEALTHY, DRAINING
    }

    public Endpoint {
        health = health == null ? Health.HEALTHY : health;
        socketMatch = socketMatch == null ? java.util.Map.of() : java.util.Map.copyOf(socketMatch);
    }

    /** An endpoint without transport socket match metadata. */
    public Endpoint(String host, int port, int weight, int priority, String locality, int localityWeight,
            Health health) {
        this(host, port, weight, priority, locality, localityWeight, health, java.util.Map.of());
    }

    /** A healthy endpoint. */
    public Endpoint(String host, int port, int weight, int priority, String locality, int localityWeight) {
        this(host, port, weight, priority, locality, localityWeight, Health.HEALTHY);
    }

    /** A healthy endpoint of priority 0 in the one unnamed locality. */
    public Endpoint(String host, int port, int weight) {
        this(host, port, weight, 0, "", 1);
    }

    public String address() {
        return host + ":" + port;
    }

    /**
     * The same upstream with the same weight and transport socket metadata: its live state (ejection, counters, the
     * transport it was given) carries over.
     */
    boolean sameTarget(Endpoint o) {
        return host.equals(o.host) && port == o.port && weight == o.weight && socketMatch.equals(o.socketMatch);
    }
}
