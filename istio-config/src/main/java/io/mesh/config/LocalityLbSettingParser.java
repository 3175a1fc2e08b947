package io.mesh.config;

import io.mesh.config.DestinationRule.LocalityLbSetting;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@code localityLbSetting}, validated as istiod's ValidateLocalityLbSetting (pkg/config/validation/agent): not both
 * {@code distribute} and {@code failover}; no topology label in {@code failoverPriority} next to {@code failover};
 * each {@code distribute} entry's weights in [1, 100] summing to 100; source and destination localities well formed
 * (no empty part, at most one "*", at the end) and not overlapping; a failover's regions differ, are regions (no
 * "/") and have no "*"; a warning when failover is asked for without outlier detection (it can then never happen).
 */
final class LocalityLbSettingParser {
    static final Set<String> TOPOLOGY_LABELS = Set.of("topology.kubernetes.io/region", "topology.kubernetes.io/zone",
            "topology.istio.io/subzone");

    private LocalityLbSettingParser() {
    }

    /** {@code outlierDetection}: whether the same traffic policy has outlier detection. */
    static LocalityLbSetting parse(SpecReader r, boolean outlierDetection) {
        if (r == null) {
            return null;
        }
        r.allow("enabled", "distribute", "failover", "failoverPriority");
        List<LocalityLbSetting.Distribute> distribute = new ArrayList<>();
        List<String> sources = new ArrayList<>();
        for (SpecReader d : r.list("distribute")) {
            d.allow("from", "to");
            String from = d.string("from");
            sources.add(from == null ? "" : from);
            Map<String, Integer> to = new LinkedHashMap<>();
            SpecReader weights = d.object("to");
            int total = 0;
            if (weights != null) {
                for (var it = weights.node().fieldNames(); it.hasNext(); ) {
                    String locality = it.next();
                    Integer w = weights.integer(locality);
                    if (w == null) {
                        continue;
                    }
                    if (w < 1 || w > 100) {
                        r.problems().error(weights.at(locality), "locality weight must be in range [1, 100]");
                    }
                    to.put(locality, w);
                    total += w;
                }
            }
            if (total != 100) {
                r.problems().error(d.at("to"), "total locality weight " + total + " != 100");
            }
            check(d, "to", List.copyOf(to.keySet()));
            distribute.add(new LocalityLbSetting.Distribute(from == null ? "" : from, to));
        }
        check(r, "distribute", sources);
        List<LocalityLbSetting.Failover> failover = new ArrayList<>();
        for (SpecReader f : r.list("failover")) {
            f.allow("from", "to");
            String from = f.string("from") == null ? "" : f.string("from");
            String to = f.string("to") == null ? "" : f.string("to");
            if (from.equals(to)) {
                f.problems().error(f.path(), "locality lb failover settings must specify different regions");
            }
            if (from.contains("/") || to.contains("/")) {
                f.problems().error(f.path(), "locality lb failover only specify region");
            }
            if (from.contains("*") || to.contains("*")) {
                f.problems().error(f.path(), "locality lb failover region should not contain '*' wildcard");
            }
            failover.add(new LocalityLbSetting.Failover(from, to));
        }
        List<String> priority = r.strings("failoverPriority");
        if (!distribute.isEmpty() && !failover.isEmpty()) {
            r.problems().error(r.path(), "can not simultaneously specify 'distribute' and 'failover'");
        }
        if (!failover.isEmpty()) {
            for (String label : priority) {
                if (TOPOLOGY_LABELS.contains(label)) {
                    r.problems().error(r.at("failoverPriority"), "can not simultaneously set 'failover' and topology"
                            + " label '" + label + "' in 'failover_priority'");
                }
            }
        }
        if ((!failover.isEmpty() || !priority.isEmpty()) && !outlierDetection) {
            r.problems().warn(r.path(), "outlier detection policy must be provided for failover");
        }
        return new LocalityLbSetting(r.bool("enabled"), distribute, failover, priority);
    }

    /** istiod's validateLocalities: each well formed, none overlapping another (a wildcard covers what it names). */
    private static void check(SpecReader r, String field, List<String> localities) {
        // region -> zone -> subzones ("*" for a wildcard at that level)
        Map<String, Map<String, Set<String>>> seen = new HashMap<>();
        for (String locality : localities) {
            long stars = locality.chars().filter(c -> c == '*').count();
            if (stars > 1 || (stars == 1 && !locality.endsWith("*"))) {
                r.problems().error(r.at(field), "locality " + locality + " wildcard '*' number can not exceed 1 and"
                        + " must be in the end");
                return;
            }
            if (seen.containsKey("*")) {
                r.problems().error(r.at(field), "locality " + locality + " overlap with previous specified ones");
                return;
            }
            String[] parts = locality.split("/", 3);
            for (String p : parts) {
                if (p.isEmpty()) {
                    r.problems().error(r.at(field), "locality " + locality + " must not contain empty"
                            + " region/zone/subzone info");
                    return;
                }
            }
            boolean overlap = switch (parts.length) {
                case 1 -> seen.putIfAbsent(parts[0], new HashMap<>(Map.of("*", Set.of("*")))) != null;
                case 2 -> {
                    Map<String, Set<String>> zones = seen.computeIfAbsent(parts[0], k -> new HashMap<>());
                    yield zones.containsKey("*") || zones.putIfAbsent(parts[1], Set.of("*")) != null;
                }
                default -> {
                    Map<String, Set<String>> zones = seen.computeIfAbsent(parts[0], k -> new HashMap<>());
                    if (zones.containsKey("*")) {
                        yield true;
                    }
                    Set<String> subzones = zones.computeIfAbsent(parts[1], k -> new java.util.HashSet<>());
                    yield subzones.contains("*") || !subzones.add(parts[2]);
                }
            };
            if (overlap) {
                r.problems().error(r.at(field), "locality " + locality + " overlap with previous specified ones");
                return;
            }
        }
    }
}
