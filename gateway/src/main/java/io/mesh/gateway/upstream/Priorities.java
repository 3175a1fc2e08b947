package io.mesh.gateway.upstream;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Envoy's priority levels and locality-weighted load balancing for one cluster's endpoint set (docs: "Priority levels",
 * "Locality weighted load balancing", overprovisioning factor 1.4): a priority's health is
 * {@code min(100, 140 × available / total)} (integer), the normalized total health {@code min(100, Σ health)}, and
 * each priority in order takes {@code min(what is left, health × 100 / normalized total)} percent of the requests,
 * so traffic stays at priority 0 until fewer than ~72% of its endpoints are available and then spills to the next.
 * Ejected endpoints are unavailable. Under locality weighting a priority's requests go to its localities in proportion
 * to {@code load_balancing_weight × min(1, 1.4 × available / total)}; then the cluster's policy picks an endpoint within.
 *
 * <p>Built on EDS changes; the loads are recomputed only when an ejection starts ({@link #invalidate}) or the
 * soonest one ends, never per request. When no priority has an available endpoint (Envoy's total panic) it picks
 * nothing and the caller falls back to the flat pick. Not modelled: the per-priority panic threshold (as for flat
 * clusters, ejected endpoints are never picked), and locality weights under ring hash (one ring per priority).
 *
 * <p>Thread-safety: immutable but for the loads, an immutable value swapped whole; two loops recomputing at once
 * compute the same thing.
 */
final class Priorities {
    static final int OVERPROVISIONING = 140;

    /** One priority: its endpoints, its localities (locality-weighted clusters), its ring (ring hash). */
    private record Level(EndpointState[] all, EndpointState[][] localities, int[] localityWeights, Upstream.Ring ring,
            AtomicInteger next) {
    }

    /** Cumulative percent per priority, effective locality weights per priority, and until when they hold. */
    private record Loads(int[] cumulative, double[][] localityCumulative, long validUntilNanos) {
    }

    private final Level[] levels;
    private final LbPolicy policy;
    private final boolean localityWeighted;
    private volatile Loads loads;

    private Priorities(Level[] levels, LbPolicy policy, boolean localityWeighted) {
        this.levels = levels;
        this.policy = policy;
        this.localityWeighted = localityWeighted;
    }

    /**
     * The layout of {@code states} (whose EDS entries are {@code list}, same order), or null when there is nothing to
     * layer: one priority, and not locality-weighted across more than one locality (the flat pick does it all).
     */
    static Priorities of(EndpointState[] states, List<Endpoint> list, ClusterSpec spec, int ringSize) {
        TreeMap<Integer, Map<String, List<Integer>>> byPriority = new TreeMap<>();
        Map<String, Integer> weights = new LinkedHashMap<>();
        for (int i = 0; i < states.length; i++) {
            Endpoint e = list.get(i);
            byPriority.computeIfAbsent(e.priority(), p -> new LinkedHashMap<>())
                    .computeIfAbsent(e.locality(), l -> new ArrayList<>()).add(i);
            weights.put(e.priority() + "|" + e.locality(), e.localityWeight());
        }
        boolean weighted = spec.localityWeighted() && byPriority.values().stream().anyMatch(l -> l.size() > 1);
        if (byPriority.size() <= 1 && !weighted) {
            return null;
        }
        Level[] levels = new Level[byPriority.size()];
        int p = 0;
        for (Map.Entry<Integer, Map<String, List<Integer>>> level : byPriority.entrySet()) {
            List<EndpointState> all = new ArrayList<>();
            EndpointState[][] localities = new EndpointState[level.getValue().size()][];
            int[] localityWeights = new int[localities.length];
            int l = 0;
            for (Map.Entry<String, List<Integer>> locality : level.getValue().entrySet()) {
                localities[l] = locality.getValue().stream().map(i -> states[i]).toArray(EndpointState[]::new);
                localityWeights[l++] = weights.get(level.getKey() + "|" + locality.getKey());
                all.addAll(List.of(localities[l - 1]));
            }
            EndpointState[] eps = all.toArray(EndpointState[]::new);
            levels[p++] = new Level(eps, localities, localityWeights,
                    spec.lbPolicy() == LbPolicy.RING_HASH ? Upstream.buildRing(eps, ringSize) : null, new AtomicInteger());
        }
        return new Priorities(levels, spec.lbPolicy(), weighted);
    }

    /** An ejection started: the loads change. */
    void invalidate() {
        loads = null;
    }

    /**
     * An available endpoint of the priority the request falls in (by {@code hash} when the policy hashes, else at
     * random), other than {@code avoid} when possible; null when none is (the caller then picks flat).
     */
    EndpointState pick(long hash, long now, EndpointState avoid) {
        Loads l = loads;
        if (l == null || now - l.validUntilNanos >= 0) {
            l = compute(now);
            loads = l;
        }
        if (l.cumulative == null) {
            return null;
        }
        boolean hashed = policy == LbPolicy.RING_HASH && hash != Long.MIN_VALUE;
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int r = hashed ? (int) Math.floorMod(hash, 100L) : random.nextInt(100);
        int p = 0;
        while (p < levels.length - 1 && r >= l.cumulative[p]) {
            p++;
        }
        Level level = levels[p];
        if (hashed) {
            return Upstream.onRing(level.ring, hash, now);
        }
        EndpointState[] eps = level.all;
        double[] localityCumulative = localityWeighted ? l.localityCumulative[p] : null;
        if (localityCumulative != null && localityCumulative[localityCumulative.length - 1] > 0) {
            double x = random.nextDouble() * localityCumulative[localityCumulative.length - 1];
            int i = 0;
            while (i < localityCumulative.length - 1 && x >= localityCumulative[i]) {
                i++;
            }
            eps = level.localities[i];
        }
        return switch (policy) {
            case ROUND_ROBIN -> Upstream.firstHealthy(eps, Math.floorMod(level.next.getAndIncrement(), eps.length), now,
                    avoid);
            case LEAST_REQUEST -> Upstream.leastRequest(eps, now, avoid);
            default -> Upstream.firstHealthy(eps, random.nextInt(eps.length), now, avoid);
        };
    }

    /** The loads now, valid until the soonest ejection ends. */
    private Loads compute(long now) {
        long until = now + 3_600_000_000_000L;
        int[] health = new int[levels.length];
        double[][] localityCumulative = new double[levels.length][];
        int total = 0;
        for (int p = 0; p < levels.length; p++) {
            Level level = levels[p];
            int available = 0;
            localityCumulative[p] = new double[level.localities.length];
            double sum = 0;
            for (int l = 0; l < level.localities.length; l++) {
                int up = 0;
                for (EndpointState s : level.localities[l]) {
                    if (s.ejected(now)) {
                        if (s.ejectedUntilNanos - until < 0) {
                            until = s.ejectedUntilNanos;
                        }
                    } else {
                        up++;
                    }
                }
                available += up;
                double ratio = Math.min(1.0, OVERPROVISIONING / 100.0 * up / level.localities[l].length);
                sum += level.localityWeights[l] * ratio;
                localityCumulative[p][l] = sum;
            }
            health[p] = Math.min(100, OVERPROVISIONING * available / level.all.length);
            total += health[p];
        }
        int normalized = Math.min(100, total);
        if (normalized == 0) {
            return new Loads(null, localityCumulative, until);
        }
        int[] cumulative = new int[levels.length];
        int left = 100;
        int firstAvailable = -1;
        int[] load = new int[levels.length];
        for (int p = 0; p < levels.length; p++) {
            load[p] = Math.min(left, health[p] * 100 / normalized);
            left -= load[p];
            if (firstAvailable < 0 && health[p] > 0) {
                firstAvailable = p;
            }
        }
        load[firstAvailable] += left;   // Envoy gives rounding leftovers to the first available priority
        int sum = 0;
        for (int p = 0; p < levels.length; p++) {
            sum += load[p];
            cumulative[p] = sum;
        }
        return new Loads(cumulative, localityCumulative, until);
    }
}
