package io.mesh.config;

/** Identifies one Istio resource: its kind, namespace and name. */
public record ConfigKey(String kind, String namespace, String name) implements Comparable<ConfigKey> {

    @Override
    public int compareTo(ConfigKey o) {
        return toString().compareTo(o.toString());
    }

    @Override
    public String toString() {
        return kind + "/" + namespace + "/" + name;
    }
}
