package io.mesh.pilot.generator;

import io.mesh.config.DestinationRule;
import io.mesh.config.DestinationRule.LocalityLbSetting;
import io.mesh.config.TrafficDistribution;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Istio's locality load balancing, relative to the calling proxy (pilot/pkg/networking/core/loadbalancer/
 * loadbalancer.go, ApplyLocalityLoadBalancer): one of
 * <ul>
 * <li>{@code distribute}: the first entry whose {@code from} takes the proxy's locality sets each destination
 * locality's load_balancing_weight (its share split over the localities a wildcard takes, rounded up); localities it
 * names none of get no endpoints;</li>
 * <li>failover, only with outlier detection (else a proxy could never notice a locality is down): EDS priorities by
 * proximity to the proxy, 0 same region/zone/subzone, 1 same zone, 2 same region, 3 elsewhere, 4 a region that a
 * {@code failover} entry for the proxy's region does not name; or with {@code failoverPriority}, by how many of the
 * listed labels (leading ones first) an endpoint shares with the proxy, then by proximity when {@code failover} is set
 * too. Priorities are renumbered 0..N without gaps.</li>
 * </ul>
 * A service's traffic distribution (Kubernetes {@code trafficDistribution}, Istio's
 * {@code networking.istio.io/traffic-distribution}) is such a {@code failoverPriority} over topology labels, applied
 * even without outlier detection, unless a DestinationRule sets {@code localityLbSetting} ({@link #choose}).
 * Pure; {@link Group} is the mutable working form of one LocalityLbEndpoints while an assignment is built.
 */
final class LocalityLoadBalancer {
    private LocalityLoadBalancer() {
    }

    /** One LocalityLbEndpoints in the making: its locality, endpoints, priority and load_balancing_weight. */
    static final class Group {
        final String locality;
        List<Endpoint> endpoints;
        int priority;
        int weight;

        Group(String locality, List<Endpoint> endpoints, int priority, int weight) {
            this.locality = locality;
            this.endpoints = endpoints;
            this.priority = priority;
            this.weight = weight;
        }
    }

    /**
     * The locality setting for a cluster, and whether it fails over whatever the outlier detection: a traffic
     * distribution does (istiod's GetLocalityLbSetting returns forceFailover for it), since EDS refreshes as endpoints
     * come and go.
     */
    record Choice(LocalityLbSetting setting, boolean forceFailover) {
        /** Whether priorities apply: forced, or the cluster has outlier detection (else Envoy never fails over). */
        boolean failover(DestinationRule.TrafficPolicy policy) {
            return forceFailover || policy != null && policy.outlierDetection() != null;
        }
    }

    /** Istio's network topology label, the first a traffic distribution ranks endpoints by. */
    static final String NETWORK = "topology.istio.io/network";
    /** PreferSameZone (and PreferClose): same network, then region, then zone. */
    static final LocalityLbSetting PREFER_SAME_ZONE = new LocalityLbSetting(true, List.of(), List.of(),
            List.of(NETWORK, ProxyLocality.REGION, ProxyLocality.ZONE));
    /** PreferSameNode: same network, region, zone, subzone, then node. */
    static final LocalityLbSetting PREFER_SAME_NODE = new LocalityLbSetting(true, List.of(), List.of(),
            List.of(NETWORK, ProxyLocality.REGION, ProxyLocality.ZONE, ProxyLocality.SUBZONE, ProxyLocality.HOSTNAME));

    /**
     * The setting that applies (istiod's GetLocalityLbSetting, pilot/pkg/networking/core/loadbalancer/loadbalancer.go):
     * the rule's own {@code localityLbSetting}, unless it sets {@code enabled: false} (then none at all: not the
     * service's traffic distribution, not the mesh's); else the service's traffic distribution as a
     * {@code failoverPriority} (forced failover); else the mesh-wide one, unless that is disabled. A null setting: none.
     */
    static Choice choose(LocalityLbSetting mesh, DestinationRule.TrafficPolicy policy, ServiceModel service) {
        LocalityLbSetting rule = policy == null || policy.loadBalancer() == null ? null
                : policy.loadBalancer().localityLbSetting();
        if (rule != null) {
            return new Choice(rule.disabled() ? null : rule, false);
        }
        TrafficDistribution td = service == null ? TrafficDistribution.ANY : service.trafficDistribution();
        switch (td) {
            case PREFER_SAME_ZONE:
                return new Choice(PREFER_SAME_ZONE, true);
            case PREFER_SAME_NODE:
                return new Choice(PREFER_SAME_NODE, true);
            default:
                break;
        }
        return new Choice(mesh == null || mesh.disabled() ? null : mesh, false);
    }

    /**
     * Whether the cluster gets {@code common_lb_config.locality_weighted_lb_config} (istiod's
     * applyLocalityLoadBalancer in cluster_traffic_policy.go): with {@code distribute}, or when failing over (outlier
     * detection, or a traffic distribution) by regions or labels.
     */
    static boolean localityWeighted(LocalityLbSetting s, boolean failover) {
        return s != null && (!s.distribute().isEmpty()
                || (failover && (!s.failover().isEmpty() || !s.failoverPriority().isEmpty())));
    }

    /**
     * Whether a proxy's EDS depends on the node it runs on in this snapshot: a service prefers its node, or a
     * DestinationRule's {@code failoverPriority} names {@link ProxyLocality#HOSTNAME}. (Otherwise the generation cache
     * need not keep proxies on different nodes apart.)
     */
    static boolean dependsOnNode(MeshSnapshot snapshot) {
        for (ServiceModel s : snapshot.services().values()) {
            if (s.trafficDistribution() == TrafficDistribution.PREFER_SAME_NODE) {
                return true;
            }
        }
        for (List<DestinationRule> rules : snapshot.destinationRules().values()) {
            for (DestinationRule dr : rules) {
                List<DestinationRule.TrafficPolicy> policies = new ArrayList<>();
                policies.add(dr.trafficPolicy());
                dr.subsets().forEach(ss -> policies.add(ss.trafficPolicy()));
                for (int i = 0, n = policies.size(); i < n; i++) {
                    if (policies.get(i) != null) {
                        policies.addAll(policies.get(i).portLevel().values());
                    }
                }
                for (DestinationRule.TrafficPolicy p : policies) {
                    LocalityLbSetting l = p == null || p.loadBalancer() == null ? null
                            : p.loadBalancer().localityLbSetting();
                    if (l != null && l.failoverPriority().stream().anyMatch(
                            f -> f.equals(ProxyLocality.HOSTNAME) || f.startsWith(ProxyLocality.HOSTNAME + "="))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * The groups with priorities or weights for a proxy at {@code proxyLocality}, on {@code proxyNode} (empty:
     * unknown), with {@code proxyLabels}.
     */
    static List<Group> apply(List<Group> groups, String proxyLocality, String proxyNode,
            Map<String, String> proxyLabels, LocalityLbSetting s, boolean enableFailover) {
        if (!s.distribute().isEmpty()) {
            weights(groups, proxyLocality, s.distribute());
            return groups;
        }
        if (!enableFailover) {
            return groups;
        }
        if (s.failoverPriority().isEmpty()) {
            byProximity(groups, proxyLocality, s.failover());
            return groups;
        }
        List<Group> out = byLabels(groups, ProxyLocality.withTopology(proxyLabels, proxyLocality, proxyNode),
                s.failoverPriority());
        if (!s.failover().isEmpty()) {
            byProximity(out, proxyLocality, s.failover());
        }
        return out;
    }

    /** istiod's applyLocalityWeights. */
    private static void weights(List<Group> groups, String proxyLocality, List<LocalityLbSetting.Distribute> rules) {
        for (LocalityLbSetting.Distribute rule : rules) {
            if (!matches(proxyLocality, rule.from())) {
                continue;
            }
            boolean[] taken = new boolean[groups.size()];
            rule.to().forEach((to, share) -> {
                List<Integer> hit = new ArrayList<>();
                long total = 0;
                for (int i = 0; i < groups.size(); i++) {
                    if (!taken[i] && matches(groups.get(i).locality, to)) {
                        taken[i] = true;
                        hit.add(i);
                        total += groups.get(i).weight;
                    }
                }
                for (int i : hit) {
                    double w = (double) groups.get(i).weight * share / total;
                    if (w > 0) {
                        groups.get(i).weight = (int) Math.ceil(w);
                    }
                }
            });
            for (int i = 0; i < groups.size(); i++) {
                if (!taken[i]) {
                    groups.get(i).endpoints = List.of();
                }
            }
            return;
        }
    }

    /** istiod's applyLocalityFailover: priority by proximity, on top of any priority already assigned. */
    private static void byProximity(List<Group> groups, String proxyLocality, List<LocalityLbSetting.Failover> failover) {
        String[] proxy = ProxyLocality.parts(proxyLocality);
        for (Group g : groups) {
            String[] ep = ProxyLocality.parts(g.locality);
            int p = !proxy[0].equals(ep[0]) ? 3 : !proxy[1].equals(ep[1]) ? 2 : !proxy[2].equals(ep[2]) ? 1 : 0;
            if (p == 3) {
                for (LocalityLbSetting.Failover f : failover) {
                    if (f.from().equals(proxy[0])) {
                        if (!ep[0].equals(f.to())) {
                            p = 4;
                        }
                        break;
                    }
                }
            }
            g.priority = g.priority * 5 + p;
        }
        renumber(groups);
    }

    /**
     * istiod's applyFailoverPriorities: each locality split by how many leading labels its endpoints share with the
     * proxy (both with their locality's topology labels, as istiod augments them; "label=value" sets the proxy's).
     */
    private static List<Group> byLabels(List<Group> groups, Map<String, String> proxyLabels, List<String> priorities) {
        if (proxyLabels.isEmpty() || groups.isEmpty()) {
            return groups;
        }
        List<String> labels = new ArrayList<>();
        Map<String, String> overrides = new HashMap<>();
        for (String p : priorities) {
            String[] kv = p.split("=", -1);
            labels.add(kv[0]);
            if (kv.length == 2) {
                overrides.put(kv[0], kv[1]);
            }
        }
        List<Group> out = new ArrayList<>();
        for (Group g : groups) {
            TreeMap<Integer, List<Endpoint>> byPriority = new TreeMap<>();
            for (Endpoint e : g.endpoints) {
                Map<String, String> el = ProxyLocality.withTopology(e.labels(), e.locality(), e.node());
                int priority = 0;
                for (int j = 0; j < labels.size(); j++) {
                    String label = labels.get(j);
                    String mine = overrides.containsKey(label) ? overrides.get(label)
                            : proxyLabels.getOrDefault(label, "");
                    if (!mine.equals(el.getOrDefault(label, ""))) {
                        priority = labels.size() - j;
                        break;
                    }
                }
                byPriority.computeIfAbsent(priority, k -> new ArrayList<>()).add(e);
            }
            byPriority.forEach((priority, eps) -> out.add(new Group(g.locality, eps, priority,
                    eps.stream().mapToInt(e -> Math.max(1, e.weight())).sum())));
        }
        renumber(out);
        return out;
    }

    /** Priorities 0..N in the same order, without gaps (Envoy needs them contiguous). */
    private static void renumber(List<Group> groups) {
        TreeSet<Integer> used = new TreeSet<>();
        groups.forEach(g -> used.add(g.priority));
        List<Integer> order = new ArrayList<>(used);
        groups.forEach(g -> g.priority = order.indexOf(g.priority));
    }

    /** istiod's LocalityMatch: a rule locality ("region/zone/subzone", "*" or a missing part: any) takes this one. */
    static boolean matches(String locality, String rule) {
        String[] l = ProxyLocality.parts(locality);
        String[] r = ProxyLocality.parts(rule);
        return (r[0].equals("*") || l[0].equals(r[0]))
                && (r[1].equals("*") || r[1].isEmpty() || l[1].equals(r[1]))
                && (r[2].equals("*") || r[2].isEmpty() || l[2].equals(r[2]));
    }
}
