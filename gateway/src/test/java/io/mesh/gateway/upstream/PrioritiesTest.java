package io.mesh.gateway.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EDS priorities and locality weights as Envoy balances them (overprovisioning factor 1.4): traffic stays at priority 0
 * while at least ~72% of it is available, spills to priority 1 in proportion as endpoints are ejected, and under
 * locality-weighted load balancing a priority's localities share its traffic by their weights.
 */
class PrioritiesTest {
    static Vertx vertx;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() {
        vertx.close();
    }

    static Upstream upstream(LbPolicy lb, boolean localityWeighted, List<Endpoint> eps) {
        return upstream(lb, localityWeighted, eps, ClusterSpec.DEFAULT_PANIC_THRESHOLD);
    }

    static Upstream upstream(LbPolicy lb, boolean localityWeighted, List<Endpoint> eps, int panicThreshold) {
        return new Upstream(vertx, new ClusterSpec("c", lb, 1000, 60_000, UpstreamProtocol.HTTP1,
                CircuitBreakers.DEFAULTS, new OutlierPolicy(1, 0, 60_000, 300_000, 100), null, null, eps, 1024, 0,
                localityWeighted, null, panicThreshold));
    }

    static final LbPolicy[] POLICIES = {LbPolicy.ROUND_ROBIN, LbPolicy.RANDOM, LbPolicy.LEAST_REQUEST,
            LbPolicy.RING_HASH};

    /** {@code n} endpoints 10.0.P.1.. of priority P, the first {@code unusable} of them with {@code health}. */
    static List<Endpoint> level(int priority, int n, int unusable, Endpoint.Health health) {
        List<Endpoint> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new Endpoint("10.0." + priority + "." + (i + 1), 80, 1, priority, "r/z" + priority + "/", 1,
                    i < unusable ? health : Endpoint.Health.HEALTHY));
        }
        return out;
    }

    static List<Endpoint> concat(List<Endpoint> a, List<Endpoint> b) {
        List<Endpoint> out = new java.util.ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /** Picks with ring hash keys when the policy hashes, so the ring (and the priority by hash) is exercised too. */
    static Map<String, Integer> picksOf(Upstream u, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            long hash = u.spec().lbPolicy() == LbPolicy.RING_HASH ? Hashing.hash("key-" + i) : Long.MIN_VALUE;
            EndpointState s = u.pick(hash, null);
            counts.merge(s == null ? "none" : s.endpoint().host(), 1, Integer::sum);
        }
        return counts;
    }

    static int sumOf(Map<String, Integer> counts, String prefix) {
        return counts.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).mapToInt(Map.Entry::getValue).sum();
    }

    static Map<String, Integer> picks(Upstream u, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            counts.merge(u.pick(Long.MIN_VALUE, null).endpoint().host(), 1, Integer::sum);
        }
        return counts;
    }

    static void eject(Upstream u, String host) {
        EndpointState s = u.endpoints().stream().filter(e -> e.endpoint().host().equals(host)).findFirst().orElseThrow();
        u.onRequestStart(s);
        u.onRequestEnd(s, 503);
        assertTrue(s.ejected(System.nanoTime()));
    }

    @Test
    void priority0TakesEverythingUntilItsHealthTimes1point4DropsBelow100ThenSpills() {
        for (LbPolicy lb : new LbPolicy[] {LbPolicy.ROUND_ROBIN, LbPolicy.RANDOM, LbPolicy.LEAST_REQUEST,
                LbPolicy.RING_HASH}) {
            Upstream u = upstream(lb, false, List.of(
                    new Endpoint("10.0.0.1", 80, 1, 0, "r/a/", 1), new Endpoint("10.0.0.2", 80, 1, 0, "r/a/", 1),
                    new Endpoint("10.0.0.3", 80, 1, 0, "r/a/", 1), new Endpoint("10.0.0.4", 80, 1, 0, "r/a/", 1),
                    new Endpoint("10.0.0.9", 80, 1, 1, "r/b/", 1)));
            assertEquals(null, picks(u, 2000).get("10.0.0.9"), lb + ": all healthy, nothing leaves priority 0");
            eject(u, "10.0.0.1");   // 75% available: 140 × 3 / 4 = 105, still 100
            assertEquals(null, picks(u, 2000).get("10.0.0.9"), lb + ": 75% available is still fully healthy");
            eject(u, "10.0.0.2");   // 50% available: health 70, so 70% stays and 30% spills
            int spilled = picks(u, 10_000).getOrDefault("10.0.0.9", 0);
            assertTrue(spilled > 2_500 && spilled < 3_500, lb + ": about 30% spills, got " + spilled);
            eject(u, "10.0.0.3");
            eject(u, "10.0.0.4");
            assertEquals(Map.of("10.0.0.9", 1000), picks(u, 1000), lb + ": priority 0 all ejected");
        }
    }

    @Test
    void localityWeightsShareAPrioritysTrafficOnlyWhenTheClusterIsLocalityWeighted() {
        List<Endpoint> eps = List.of(new Endpoint("10.0.0.1", 80, 1, 0, "r/a/", 80),
                new Endpoint("10.0.0.2", 80, 1, 0, "r/b/", 20));
        int a = picks(upstream(LbPolicy.ROUND_ROBIN, true, eps), 10_000).get("10.0.0.1");
        assertTrue(a > 7_500 && a < 8_500, "about 80% to locality a, got " + a);
        assertEquals(Map.of("10.0.0.1", 500, "10.0.0.2", 500), picks(upstream(LbPolicy.ROUND_ROBIN, false, eps), 1000),
                "without locality_weighted_lb_config the weights are ignored, as in Envoy");
    }

    @Test
    void anEjectedEndpointKeepsItsStateWhenEdsMovesItToAnotherPriority() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, List.of(new Endpoint("10.0.0.1", 80, 1, 0, "r/a/", 1),
                new Endpoint("10.0.0.9", 80, 1, 1, "r/b/", 1)));
        eject(u, "10.0.0.1");
        u.setEndpoints(List.of(new Endpoint("10.0.0.1", 80, 1, 1, "r/a/", 1),
                new Endpoint("10.0.0.9", 80, 1, 0, "r/b/", 1)));
        assertTrue(u.endpoints().get(0).ejected(System.nanoTime()));
        assertEquals(Map.of("10.0.0.9", 100), picks(u, 100));
    }

    @Test
    void unhealthyEndpointsCountInTheirPrioritysHealthSoItsShareSpillsToTheNextAndTheyGetNothing() {
        for (LbPolicy lb : POLICIES) {
            // Priority 0: 2 of 5 UNHEALTHY, health 140 × 3 / 5 = 84, so 16% goes to priority 1.
            Upstream u = upstream(lb, false, concat(level(0, 5, 2, Endpoint.Health.UNHEALTHY),
                    level(1, 1, 0, null)));
            Map<String, Integer> picks = picksOf(u, 20_000);
            int spilled = sumOf(picks, "10.0.1.");
            assertTrue(spilled > 2_500 && spilled < 3_900, lb + ": about 16% spills, got " + spilled);
            assertEquals(null, picks.get("10.0.0.1"), lb + ": an UNHEALTHY endpoint gets nothing");
            assertEquals(null, picks.get("10.0.0.2"), lb + ": an UNHEALTHY endpoint gets nothing");
        }
    }

    @Test
    void drainingEndpointsCountNowhereAndGetNothing() {
        for (LbPolicy lb : POLICIES) {
            // Priority 0: 3 of 5 DRAINING are excluded: its 2 others are all it has, health 100.
            Upstream u = upstream(lb, false, concat(level(0, 5, 3, Endpoint.Health.DRAINING), level(1, 1, 0, null)));
            Map<String, Integer> picks = picksOf(u, 2_000);
            assertEquals(2_000, picks.getOrDefault("10.0.0.4", 0) + picks.getOrDefault("10.0.0.5", 0),
                    lb + ": " + picks);
        }
    }

    @Test
    void degradedEndpointsTakeTheShareTheHealthyOnesCannot() {
        // 1 healthy, 1 degraded: health 70, degraded availability 70, so 70% healthy and 30% degraded.
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, level(0, 2, 1, Endpoint.Health.DEGRADED));
        int degraded = picksOf(u, 10_000).getOrDefault("10.0.0.1", 0);
        assertTrue(degraded > 2_500 && degraded < 3_500, "about 30% to the degraded endpoint, got " + degraded);
    }

    @Test
    void belowThePanicThresholdEveryEndpointOfTheClusterIsPicked() {
        for (LbPolicy lb : POLICIES) {
            // 2 of 5 healthy: 40% is under 50%, so all five are used, the UNHEALTHY ones too.
            Map<String, Integer> picks = picksOf(upstream(lb, false, level(0, 5, 3, Endpoint.Health.UNHEALTHY)), 5_000);
            assertEquals(5, picks.size(), lb + ": " + picks);
            // 3 of 5 healthy (60%): no panic.
            picks = picksOf(upstream(lb, false, level(0, 5, 2, Endpoint.Health.UNHEALTHY)), 5_000);
            assertEquals(3, picks.size(), lb + ": " + picks);
            // None healthy: all of them.
            assertEquals(5, picksOf(upstream(lb, false, level(0, 5, 5, Endpoint.Health.UNHEALTHY)), 5_000).size(), lb.name());
        }
    }

    @Test
    void panicIncludesEjectedEndpointsAndEndsWithTheEjections() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, level(0, 4, 0, null));
        eject(u, "10.0.0.1");
        eject(u, "10.0.0.2");
        assertEquals(2, picksOf(u, 1_000).size(), "half available is not under 50%");
        eject(u, "10.0.0.3");
        assertEquals(Map.of("10.0.0.1", 250, "10.0.0.2", 250, "10.0.0.3", 250, "10.0.0.4", 250), picksOf(u, 1_000),
                "1 of 4 available: panic, round robin over all four");
    }

    @Test
    void withPanicThreshold0EndpointsThatAreNotHealthyAreNeverPicked() {
        for (LbPolicy lb : POLICIES) {
            assertEquals(Map.of("none", 100), picksOf(upstream(lb, false, level(0, 3, 3, Endpoint.Health.UNHEALTHY), 0),
                    100), lb + ": nothing to pick (503 UH)");
            assertEquals(Map.of("10.0.0.3", 100), picksOf(upstream(lb, false, level(0, 3, 2, Endpoint.Health.UNHEALTHY),
                    0), 100), lb.name());
            Upstream u = upstream(lb, false, concat(level(0, 2, 0, null), level(1, 1, 1, Endpoint.Health.UNHEALTHY)), 0);
            eject(u, "10.0.0.1");
            eject(u, "10.0.0.2");
            assertEquals(Map.of("none", 100), picksOf(u, 100), lb + ": every endpoint ejected or UNHEALTHY");
        }
    }

    @Test
    void whenEveryPriorityIsInPanicTheLoadFollowsTheirHostCounts() {
        // Priority 0: 4 hosts, 1 healthy (25%); priority 1: 1 host, UNHEALTHY. Both in panic: 80% / 20% over all hosts.
        Upstream u = upstream(LbPolicy.RANDOM, false, concat(level(0, 4, 3, Endpoint.Health.UNHEALTHY),
                level(1, 1, 1, Endpoint.Health.UNHEALTHY)));
        Map<String, Integer> picks = picksOf(u, 10_000);
        int p1 = picks.getOrDefault("10.0.1.1", 0);
        assertTrue(p1 > 1_600 && p1 < 2_400, "about 20% to priority 1, got " + picks);
        assertEquals(5, picks.size(), picks.toString());
    }

    @Test
    void aRetryAvoidsTheFailedEndpointAndTakesAnotherPrioritysWhenItsOwnHasNoOther() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, concat(level(0, 1, 0, null), level(1, 1, 0, null)));
        EndpointState first = u.pick(Long.MIN_VALUE, null);
        assertEquals("10.0.0.1", first.endpoint().host());
        assertEquals("10.0.1.1", u.pick(Long.MIN_VALUE, first).endpoint().host());
    }

    @Test
    void anEndpointKeepsItsStateWhenEdsChangesItsHealth() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, level(0, 2, 1, Endpoint.Health.UNHEALTHY));
        EndpointState s = u.endpoints().get(0);
        assertEquals(Map.of("10.0.0.2", 100), picksOf(u, 100));
        u.setEndpoints(level(0, 2, 0, null));
        assertTrue(s == u.endpoints().get(0));
        assertEquals(Map.of("10.0.0.1", 50, "10.0.0.2", 50), picksOf(u, 100), "ready again: picked");
    }

    @Test
    void roundRobinGoesEvenlyOverTheHealthyEndpointsOnlyAsOverEnvoysHealthyHostSet() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, level(0, 5, 2, Endpoint.Health.UNHEALTHY));
        assertEquals(Map.of("10.0.0.3", 100, "10.0.0.4", 100, "10.0.0.5", 100), picksOf(u, 300));
        eject(u, "10.0.0.4");
        assertEquals(Map.of("10.0.0.1", 60, "10.0.0.2", 60, "10.0.0.3", 60, "10.0.0.4", 60, "10.0.0.5", 60),
                picksOf(u, 300), "2 of 5 healthy is under 50%: panic, round robin over all five");
    }

    /** The host each of {@code n} hash keys is picked from. */
    static List<String> hostsByKey(Upstream u, int n) {
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            EndpointState s = u.pick(Hashing.hash("key-" + i), null);
            out.add(s == null ? "none" : s.endpoint().host());
        }
        return out;
    }

    static List<Endpoint> healthy(List<Endpoint> eps) {
        return eps.stream().map(e -> new Endpoint(e.host(), e.port(), e.weight(), e.priority(), e.locality(),
                e.localityWeight(), Endpoint.Health.HEALTHY)).toList();
    }

    @Test
    void ringHashHashesOverAPrioritysHealthyEndpointsAsARingBuiltWithoutTheOthers() {
        List<Endpoint> five = level(0, 5, 0, null);
        List<String> withoutFirst = hostsByKey(upstream(LbPolicy.RING_HASH, false, five.subList(1, 5)), 2_000);
        Upstream ejected = upstream(LbPolicy.RING_HASH, false, five);
        eject(ejected, "10.0.0.1");   // 4 of 5 available: no spill, no panic
        assertEquals(withoutFirst, hostsByKey(ejected, 2_000), "an ejected endpoint is off the ring");
        Upstream unhealthy = upstream(LbPolicy.RING_HASH, false, level(0, 5, 1, Endpoint.Health.UNHEALTHY));
        assertEquals(withoutFirst, hostsByKey(unhealthy, 2_000), "so is an EDS UNHEALTHY one");
        unhealthy.setEndpoints(five);
        assertEquals(hostsByKey(upstream(LbPolicy.RING_HASH, false, five), 2_000), hostsByKey(unhealthy, 2_000),
                "healthy again by EDS: back on the ring, every key where it was");
    }

    @Test
    void ringHashInPanicHashesOverEveryEndpointOfThePriority() {
        List<Endpoint> fiveWithThreeUnhealthy = level(0, 5, 3, Endpoint.Health.UNHEALTHY);
        assertEquals(hostsByKey(upstream(LbPolicy.RING_HASH, false, healthy(fiveWithThreeUnhealthy)), 2_000),
                hostsByKey(upstream(LbPolicy.RING_HASH, false, fiveWithThreeUnhealthy), 2_000),
                "2 of 5 healthy is under 50%: the ring holds all five");
    }

    @Test
    void ringHashHashesAPrioritysDegradedShareOverItsDegradedEndpoints() {
        // 2 of 4 healthy: 70% of the keys to the healthy ones, the other 30% to the 2 degraded ones.
        List<Endpoint> eps = level(0, 4, 2, Endpoint.Health.DEGRADED);
        List<String> picked = hostsByKey(upstream(LbPolicy.RING_HASH, false, eps), 4_000);
        List<String> overHealthy = hostsByKey(upstream(LbPolicy.RING_HASH, false, eps.subList(2, 4)), 4_000);
        List<String> overDegraded = hostsByKey(upstream(LbPolicy.RING_HASH, false, healthy(eps.subList(0, 2))), 4_000);
        int degraded = 0;
        for (int i = 0; i < picked.size(); i++) {
            boolean toDegraded = picked.get(i).equals("10.0.0.1") || picked.get(i).equals("10.0.0.2");
            degraded += toDegraded ? 1 : 0;
            assertEquals((toDegraded ? overDegraded : overHealthy).get(i), picked.get(i), "key-" + i);
        }
        assertTrue(degraded > 1_000 && degraded < 1_400, "about 30% to the degraded endpoints, got " + degraded);
    }
}
