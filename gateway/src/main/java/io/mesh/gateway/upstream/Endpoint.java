package io.mesh.gateway.upstream;

/**
 * An upstream address as EDS (or a static load assignment) lists it. {@code priority}: its LocalityLbEndpoints'
 * priority (0 first); {@code locality}: its locality's key ("region/zone/subzone") and {@code localityWeight} that
 * locality's load_balancing_weight, used by locality-weighted clusters only.
 */
public record Endpoint(String host, int port, int weight, int priority, String locality, int localityWeight) {

    /** An endpoint of priority 0 in the one unnamed locality. */
    public Endpoint(String host, int port, int weight) {
        this(host, port, weight, 0, "", 1);
    }

    public String address() {
        return host + ":" + port;
    }

    /** The same upstream with the same weight: its live state (ejection, counters) carries over. */
    boolean sameTarget(Endpoint o) {
        return host.equals(o.host) && port == o.port && weight == o.weight;
    }
}
