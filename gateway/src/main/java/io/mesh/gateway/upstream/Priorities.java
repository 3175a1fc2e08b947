package io.mesh.gateway.upstream;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The load balancer of one cluster's endpoint set, as Envoy's: its EDS priority levels, their health and panic
 * ({@link PriorityLoad}), locality-weighted load balancing, and the cluster's policy within (round robin, least request
 * P2C, random, ring hash with rings per priority, the hash also choosing the priority). A flat cluster is one
 * level. Endpoints that are not healthy (EDS UNHEALTHY, or ejected by outlier detection) count in their priority's
 * total; EDS DRAINING ones count nowhere; neither is picked unless its priority is in panic, where every host of the
 * priority is (Envoy's default {@code healthy_panic_threshold} 50%; 0 turns panic off). DEGRADED endpoints take the
 * load the healthy ones cannot.
 *
 * <p>Under locality weighting a priority's requests go to its localities in proportion to
 * {@code load_balancing_weight × min(1, 1.4 × usable / counted)} (healthy, or degraded for degraded load); a priority
 * in panic ignores localities, as Envoy does. Not modelled: locality weights under ring hash.
 *
 * <p>Ring hash (and Maglev, served by it) hashes over a ring of the priority's healthy endpoints, as Envoy's thread-aware
 * load balancers build one per priority from its healthy hosts, or from all of them in panic: a host that is ejected
 * or unhealthy is not on the ring at all, so its keys spread over the others as on a ring built without it, and a
 * pick takes the first entry at or after the key rather than walking past unusable hosts. The degraded share of a
 * priority's load hashes over a ring of its degraded endpoints (Envoy's rings hold healthy hosts only, so that share
 * finds no host there).
 *
 * <p>Endpoint weights ({@code load_balancing_weight}, e.g. a ServiceEntry endpoint's or WorkloadEntry's {@code weight})
 * count as in Envoy's EDF load balancers when they differ: round robin goes over a schedule in which each endpoint
 * appears in proportion to its weight, interleaved by earliest deadline first ({@link #weighted}); least request takes
 * its two choices from that schedule (Envoy divides weights by active requests instead); the ring gives each endpoint
 * entries in proportion to its weight; random ignores weights, as Envoy's. Equal weights leave every array as it is.
 * With slow start ({@link SlowStart}, round robin and least request) an endpoint's weight is scaled by its ramp factor
 * while it is in its window, and the loads are worked out again each {@link SlowStart#stepNanos} until none ramps.
 *
 * <p>The loads (rings included) are computed when first needed after an EDS change, after an ejection starts
 * ({@link #invalidate}) and when the soonest ejection ends, never per request. Thread-safety: immutable but for the loads, an immutable value
 * swapped whole (two loops recomputing at once compute the same thing), and the round-robin counters (atomics).
 */
final class Priorities {

    /** Which healths a pick accepts, as a bit mask over {@link EndpointState#health} codes. */
    static final int HEALTHY_ONLY = 1 << EndpointState.HEALTHY;
    static final int DEGRADED_ONLY = 1 << EndpointState.DEGRADED;
    static final int USABLE = HEALTHY_ONLY | DEGRADED_ONLY;
    static final int ANY = 0b1111;

    /** One priority: its endpoints, its localities (locality-weighted clusters), its ring of them all (ring hash). */
    private record Level(EndpointState[] all, EndpointState[][] localities, int[] localityWeights, Ring ring,
            AtomicInteger next) {
    }

    /** A consistent-hash ring: sorted hashes and the endpoint owning each. */
    record Ring(long[] hashes, EndpointState[] owners) {
    }

    /**
     * Cumulative percent per priority (healthy loads, then degraded loads: 2 × levels), panic per priority, per priority
     * its healthy and its degraded endpoints (Envoy's healthy and degraded host sets: round robin and random go over
     * them), the same per locality with the effective locality weights (cumulative), whether priority 0's healthy
     * hosts take all, and until when this holds.
     */
    private record Loads(int[] cumulative, boolean[] panic, boolean anyPanic, Usable[] healthy, Usable[] degraded,
            boolean allToFirst, long validUntilNanos, Ring[] healthyRings, Ring[] degradedRings) {
    }

    /** One priority's endpoints of one health: all of them, and per locality with its cumulative effective weight. */
    private record Usable(EndpointState[] all, EndpointState[][] localities, double[] cumulativeWeights) {
    }

    private final Level[] levels;
    private final LbPolicy policy;
    /** The cluster's slow start, for the weighted policies; null: none. */
    private final SlowStart slowStart;
    private final boolean localityWeighted;
    private final int panicThreshold;
    private final int ringSize;
    private volatile Loads loads;

    private Priorities(Level[] levels, LbPolicy policy, boolean localityWeighted, int panicThreshold, int ringSize,
            SlowStart slowStart) {
        this.levels = levels;
        this.policy = policy;
        this.slowStart = policy == LbPolicy.ROUND_ROBIN || policy == LbPolicy.LEAST_REQUEST ? slowStart : null;
        this.localityWeighted = localityWeighted;
        this.panicThreshold = panicThreshold;
        this.ringSize = ringSize;
    }

    /** The layout of {@code states} (whose EDS entries are {@code list}, same order); null when there are none. */
    static Priorities of(EndpointState[] states, List<Endpoint> list, ClusterSpec spec, int ringSize) {
        if (states.length == 0) {
            return null;
        }
        TreeMap<Integer, Map<String, List<Integer>>> byPriority = new TreeMap<>();
        Map<String, Integer> weights = new LinkedHashMap<>();
        for (int i = 0; i < states.length; i++) {
            Endpoint e = list.get(i);
            byPriority.computeIfAbsent(e.priority(), p -> new LinkedHashMap<>())
                    .computeIfAbsent(e.locality(), l -> new ArrayList<>()).add(i);
            weights.put(e.priority() + "|" + e.locality(), e.localityWeight());
        }
        boolean weighted = spec.localityWeighted() && byPriority.values().stream().anyMatch(l -> l.size() > 1);
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
            levels[p++] = new Level(spec.lbPolicy() == LbPolicy.RING_HASH ? eps : scheduled(spec.lbPolicy(), eps),
                    localities, localityWeights,
                    spec.lbPolicy() == LbPolicy.RING_HASH ? buildRing(eps, ringSize) : null, new AtomicInteger());
        }
        return new Priorities(levels, spec.lbPolicy(), weighted, spec.panicThreshold(), ringSize, spec.slowStart());
    }

    /** An ejection started: the loads change. */
    void invalidate() {
        loads = null;
    }

    /**
     * An endpoint for a request: the priority it falls in (by {@code hash} when the policy hashes, else at random),
     * then one of that priority's usable endpoints (all of them in panic), other than {@code avoid} when possible.
     * When that priority has none (a retry avoiding its only one), another priority's usable endpoint, else
     * {@code avoid} if it may still be used; null when there is nothing to pick (503 UH).
     */
    EndpointState pick(long hash, long now, EndpointState avoid) {
        Loads l = loads;
        if (l == null || now - l.validUntilNanos >= 0) {
            l = compute(now);
            loads = l;
        }
        boolean hashed = policy == LbPolicy.RING_HASH && hash != Long.MIN_VALUE;
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int p = 0;
        boolean degraded = false;
        if (!l.allToFirst) {
            int r = hashed ? (int) Math.floorMod(hash, 100L) : random.nextInt(100);
            int slot = 0;
            while (slot < l.cumulative.length - 1 && r >= l.cumulative[slot]) {
                slot++;
            }
            p = slot % levels.length;
            degraded = slot >= levels.length;
        }
        Level level = levels[p];
        boolean panic = l.panic[p];
        EndpointState s;
        if (hashed) {
            // The accept check only guards a pick racing an ejection that another loop has not recomputed for yet.
            Ring ring = panic ? level.ring : degraded ? l.degradedRings[p] : l.healthyRings[p];
            s = onRing(ring, hash, now, panic ? ANY : degraded ? DEGRADED_ONLY : HEALTHY_ONLY);
        } else {
            Usable usable = degraded ? l.degraded[p] : l.healthy[p];
            EndpointState[] eps = panic ? level.all : usable.all;
            double[] weights = usable.cumulativeWeights;
            if (!panic && localityWeighted && weights[weights.length - 1] > 0) {
                double x = random.nextDouble() * weights[weights.length - 1];
                int i = 0;
                while (i < weights.length - 1 && x >= weights[i]) {
                    i++;
                }
                eps = usable.localities[i];
            }
            s = eps.length <= 1 ? (eps.length == 0 ? null : first(eps, 0, now, avoid, ANY)) : switch (policy) {
                case ROUND_ROBIN -> first(eps, Math.floorMod(level.next.getAndIncrement(), eps.length), now, avoid, ANY);
                case LEAST_REQUEST -> leastRequest(eps, now, avoid, ANY);
                default -> first(eps, random.nextInt(eps.length), now, avoid, ANY);
            };
        }
        return s != null ? s : fallback(l, now, avoid);
    }

    /** Any usable endpoint (any endpoint of a priority in panic) but {@code avoid}; else {@code avoid} if usable. */
    private EndpointState fallback(Loads l, long now, EndpointState avoid) {
        for (int p = 0; p < levels.length; p++) {
            EndpointState s = first(levels[p].all, 0, now, avoid, l.panic[p] ? ANY : USABLE);
            if (s != null) {
                return s;
            }
        }
        return avoid != null && (l.anyPanic || accepts(avoid, now, USABLE)) ? avoid : null;
    }

    static boolean accepts(EndpointState s, long now, int accept) {
        return accept == ANY || (accept >> s.health(now) & 1) != 0;
    }

    static EndpointState first(EndpointState[] eps, int start, long now, EndpointState avoid, int accept) {
        for (int i = 0; i < eps.length; i++) {
            EndpointState s = eps[(start + i) % eps.length];
            if (s != avoid && accepts(s, now, accept)) {
                return s;
            }
        }
        return null;
    }

    /** Power of two choices: the less loaded of two random accepted endpoints. */
    static EndpointState leastRequest(EndpointState[] eps, long now, EndpointState avoid, int accept) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        EndpointState a = first(eps, r.nextInt(eps.length), now, avoid, accept);
        EndpointState b = first(eps, r.nextInt(eps.length), now, avoid, accept);
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return b.active.get() < a.active.get() ? b : a;
    }

    /** The first accepted endpoint at or after {@code hash} on the ring. */
    static EndpointState onRing(Ring r, long hash, long now, int accept) {
        int n = r.hashes.length;
        if (n == 0) {
            return null;
        }
        int i = java.util.Arrays.binarySearch(r.hashes, hash);
        if (i < 0) {
            i = -i - 1;
        }
        for (int k = 0; k < n; k++) {
            EndpointState s = r.owners[(i + k) % n];
            if (accepts(s, now, accept)) {
                return s;
            }
        }
        return null;
    }

    static Ring buildRing(EndpointState[] eps, int size) {
        if (eps.length == 0) {
            return new Ring(new long[0], new EndpointState[0]);
        }
        int perHost = Math.max(1, size / eps.length);
        long weights = 0;
        boolean equal = true;
        for (EndpointState s : eps) {
            weights += Math.max(1, s.endpoint.weight());
            equal &= s.endpoint.weight() == eps[0].endpoint.weight();
        }
        List<long[]> entries = new ArrayList<>();
        for (int e = 0; e < eps.length; e++) {
            // Envoy's ring: entries in proportion to the host's share of the weights (at least one each).
            int n = equal ? perHost
                    : (int) Math.max(1, Math.round((double) size * Math.max(1, eps[e].endpoint.weight()) / weights));
            for (int i = 0; i < n; i++) {
                entries.add(new long[] {Hashing.hash(eps[e].endpoint.address() + "_" + i), e});
            }
        }
        entries.sort((x, y) -> Long.compare(x[0], y[0]));
        long[] hashes = new long[entries.size()];
        EndpointState[] owners = new EndpointState[entries.size()];
        for (int i = 0; i < hashes.length; i++) {
            hashes[i] = entries.get(i)[0];
            owners[i] = eps[(int) entries.get(i)[1]];
        }
        return new Ring(hashes, owners);
    }

    /** The loads now, valid until the soonest ejection ends. */
    private Loads compute(long now) {
        long until = now + 3_600_000_000_000L;
        int n = levels.length;
        int[] hosts = new int[n];
        int[] counted = new int[n];
        int[] healthyCount = new int[n];
        int[] degradedCount = new int[n];
        Usable[] healthy = new Usable[n];
        Usable[] degraded = new Usable[n];
        for (int p = 0; p < n; p++) {
            Level level = levels[p];
            int localities = level.localities.length;
            EndpointState[][] healthyByLocality = new EndpointState[localities][];
            EndpointState[][] degradedByLocality = new EndpointState[localities][];
            double[] healthyWeights = new double[localities];
            double[] degradedWeights = new double[localities];
            double healthySum = 0;
            double degradedSum = 0;
            for (int l = 0; l < localities; l++) {
                List<EndpointState> h = new ArrayList<>();
                List<EndpointState> d = new ArrayList<>();
                int excluded = 0;
                for (EndpointState s : level.localities[l]) {
                    if (s.ejected(now) && s.ejectedUntilNanos - until < 0) {
                        until = s.ejectedUntilNanos;
                    }
                    switch (s.health(now)) {
                        case EndpointState.HEALTHY -> h.add(s);
                        case EndpointState.DEGRADED -> d.add(s);
                        case EndpointState.EXCLUDED -> excluded++;
                        default -> { }
                    }
                }
                int localityCounted = level.localities[l].length - excluded;
                hosts[p] += level.localities[l].length;
                counted[p] += localityCounted;
                healthyCount[p] += h.size();
                degradedCount[p] += d.size();
                healthyByLocality[l] = h.toArray(EndpointState[]::new);
                degradedByLocality[l] = d.toArray(EndpointState[]::new);
                healthySum += effectiveWeight(level.localityWeights[l], h.size(), localityCounted);
                degradedSum += effectiveWeight(level.localityWeights[l], d.size(), localityCounted);
                healthyWeights[l] = healthySum;
                degradedWeights[l] = degradedSum;
            }
            healthy[p] = usable(healthyByLocality, healthyWeights, now);
            degraded[p] = usable(degradedByLocality, degradedWeights, now);
        }
        PriorityLoad load = PriorityLoad.of(hosts, counted, healthyCount, degradedCount, panicThreshold);
        int[] cumulative = new int[2 * n];
        int sum = 0;
        for (int p = 0; p < n; p++) {
            sum += load.healthy()[p];
            cumulative[p] = sum;
        }
        for (int p = 0; p < n; p++) {
            sum += load.degraded()[p];
            cumulative[n + p] = sum;
        }
        boolean anyPanic = false;
        for (boolean b : load.panic()) {
            anyPanic |= b;
        }
        Ring[] healthyRings = new Ring[n];
        Ring[] degradedRings = new Ring[n];
        if (policy == LbPolicy.RING_HASH) {
            for (int p = 0; p < n; p++) {
                healthyRings[p] = ringOf(levels[p], healthy[p].all);
                degradedRings[p] = ringOf(levels[p], degraded[p].all);
            }
        }
        if (ramping(now) && now + slowStart.stepNanos() - until < 0) {
            until = now + slowStart.stepNanos();   // the ramp's weights hold one step
        }
        return new Loads(cumulative, load.panic(), anyPanic, healthy, degraded, load.healthy()[0] == 100, until,
                healthyRings, degradedRings);
    }

    /**
     * One health's endpoints of a priority, scheduled by weight for the policies that weigh them, with the slow start
     * factors at {@code now}.
     */
    private Usable usable(EndpointState[][] byLocality, double[] cumulativeWeights, long now) {
        EndpointState[][] localities = byLocality;
        EndpointState[] all = flatten(byLocality);
        if (policy == LbPolicy.ROUND_ROBIN || policy == LbPolicy.LEAST_REQUEST) {
            localities = new EndpointState[byLocality.length][];
            for (int l = 0; l < byLocality.length; l++) {
                localities[l] = weighted(byLocality[l], slowStart, now);
            }
            all = weighted(all, slowStart, now);
        }
        return new Usable(all, localities, cumulativeWeights);
    }

    /** Whether an endpoint of the level is still in its slow start window at {@code now}. */
    private boolean ramping(long now) {
        if (slowStart == null) {
            return false;
        }
        for (Level level : levels) {
            for (EndpointState s : level.all) {
                if (now - s.joinedNanos < slowStart.windowNanos()) {
                    return true;
                }
            }
        }
        return false;
    }

    private static EndpointState[] scheduled(LbPolicy policy, EndpointState[] eps) {
        return policy == LbPolicy.ROUND_ROBIN || policy == LbPolicy.LEAST_REQUEST ? weighted(eps) : eps;
    }

    /** The longest weighted schedule; larger weight sums are scaled down to it (each endpoint keeps at least one slot). */
    static final int MAX_SCHEDULE = 4096;

    /**
     * {@code eps} itself when their weights are equal; else a schedule in which each appears in proportion to its
     * weight (divided by the weights' greatest common divisor, scaled to at most {@link #MAX_SCHEDULE} slots),
     * interleaved as Envoy's EDF scheduler orders picks: the next slot goes to the endpoint whose next deadline
     * ({@code k / weight} for its k-th pick) is earliest, the earlier-listed one on a tie.
     */
    static EndpointState[] weighted(EndpointState[] eps) {
        return weighted(eps, null, 0);
    }

    /**
     * As {@link #weighted(EndpointState[])}, each weight scaled by its endpoint's slow start factor at {@code now}
     * ({@link SlowStart#factor}, in hundredths) while one ramps.
     */
    static EndpointState[] weighted(EndpointState[] eps, SlowStart slowStart, long now) {
        if (eps.length < 2) {
            return eps;
        }
        long[] weights = new long[eps.length];
        boolean ramp = false;
        for (int i = 0; i < eps.length; i++) {
            weights[i] = Math.max(1, eps[i].endpoint.weight());
            if (slowStart != null && now - eps[i].joinedNanos < slowStart.windowNanos()) {
                ramp = true;
            }
        }
        if (ramp) {
            for (int i = 0; i < eps.length; i++) {
                weights[i] = Math.max(1, Math.round(weights[i] * 100 * slowStart.factor(eps[i].joinedNanos, now)));
            }
        }
        long gcd = 0;
        long sum = 0;
        boolean equal = true;
        for (long w : weights) {
            equal &= w == weights[0];
            gcd = gcd(gcd, w);
            sum += w;
        }
        if (equal) {
            return eps;
        }
        long[] slots = new long[eps.length];
        long total = 0;
        for (int i = 0; i < eps.length; i++) {
            long w = weights[i] / gcd;
            slots[i] = sum / gcd <= MAX_SCHEDULE ? w : Math.max(1, Math.round((double) w * MAX_SCHEDULE * gcd / sum));
            total += slots[i];
        }
        EndpointState[] schedule = new EndpointState[(int) total];
        long[] picked = new long[eps.length];
        for (int k = 0; k < schedule.length; k++) {
            int best = -1;
            for (int i = 0; i < eps.length; i++) {
                // deadline (picked + 1) / slots, compared without division
                if (picked[i] < slots[i] && (best < 0
                        || (picked[i] + 1) * slots[best] < (picked[best] + 1) * slots[i])) {
                    best = i;
                }
            }
            schedule[k] = eps[best];
            picked[best]++;
        }
        return schedule;
    }

    private static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** The ring of some of a level's endpoints: the level's own when they are all of them (the usual case). */
    private Ring ringOf(Level level, EndpointState[] eps) {
        return eps.length == level.all.length ? level.ring : buildRing(eps, ringSize);
    }

    private static EndpointState[] flatten(EndpointState[][] parts) {
        List<EndpointState> all = new ArrayList<>();
        for (EndpointState[] part : parts) {
            all.addAll(List.of(part));
        }
        return all.toArray(EndpointState[]::new);
    }

    /** Envoy's effective locality weight: its weight × min(1, 1.4 × usable / counted); 0 when nothing counts. */
    private static double effectiveWeight(int weight, int usable, int counted) {
        return counted == 0 ? 0 : weight * Math.min(1.0, PriorityLoad.OVERPROVISIONING / 100.0 * usable / counted);
    }
}
