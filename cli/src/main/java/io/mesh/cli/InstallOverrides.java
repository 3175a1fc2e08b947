package io.mesh.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code --set key=value} overrides of {@code meshctl install}, as istioctl users write them.
 *
 * @param hub where the images come from, replacing {@code mesh} in {@code mesh/<component>}
 * @param tag the image tag
 * @param trustDomain the mesh's trust domain (ConfigMap {@code istio}, key {@code trustDomain})
 * @param revision a control-plane revision: labels every object {@code istio.io/rev=<revision>}
 */
record InstallOverrides(Optional<String> hub, Optional<String> tag, Optional<String> trustDomain, Optional<String> revision) {

    static final Map<String, String> KEYS = Map.of(
            "hub", "image registry/organisation, e.g. --set hub=registry.example/mesh",
            "tag", "image tag, e.g. --set tag=0.2.0",
            "trustDomain", "SPIFFE trust domain, e.g. --set trustDomain=example.org",
            "revision", "control-plane revision label, e.g. --set revision=canary");

    static InstallOverrides none() {
        return new InstallOverrides(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** Parses {@code key=value} pairs; an unknown key or a missing value is a usage error naming the known keys. */
    static InstallOverrides parse(List<String> sets) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String set : sets) {
            int eq = set.indexOf('=');
            if (eq <= 0 || eq == set.length() - 1) {
                throw new IllegalArgumentException("--set " + set + ": expected key=value");
            }
            String key = set.substring(0, eq).strip();
            if (!KEYS.containsKey(key)) {
                throw new IllegalArgumentException("--set " + set + ": unknown key '" + key + "'; known keys: "
                        + String.join(", ", KEYS.keySet().stream().sorted().toList()));
            }
            values.put(key, set.substring(eq + 1).strip());
        }
        return new InstallOverrides(Optional.ofNullable(values.get("hub")), Optional.ofNullable(values.get("tag")),
                Optional.ofNullable(values.get("trustDomain")), Optional.ofNullable(values.get("revision")));
    }
}
