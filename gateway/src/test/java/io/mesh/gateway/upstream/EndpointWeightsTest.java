package io.mesh.gateway.upstream;

import static io.mesh.gateway.upstream.PrioritiesTest.upstream;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Endpoint weights ({@code load_balancing_weight}) as Envoy's load balancers count them: round robin follows an EDF
 * schedule exactly, least request and the ring hash share by weight, random ignores weights; an endpoint that cannot
 * be used leaves the others' shares by their weights.
 */
class EndpointWeightsTest {

    @BeforeAll
    static void start() {
        PrioritiesTest.start();
    }

    @AfterAll
    static void stop() {
        PrioritiesTest.stop();
    }

    static Endpoint ep(String host, int weight) {
        return new Endpoint(host, 80, weight);
    }

    static Map<String, Integer> picks(Upstream u, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            long hash = u.spec().lbPolicy() == LbPolicy.RING_HASH ? Hashing.hash("key-" + i) : Long.MIN_VALUE;
            counts.merge(u.pick(hash, null).endpoint().host(), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void roundRobinFollowsTheWeightsExactlyAndInterleavesThem() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, List.of(ep("10.0.0.1", 3), ep("10.0.0.2", 1)));
        StringBuilder order = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            order.append(u.pick(Long.MIN_VALUE, null).endpoint().host().endsWith(".1") ? 'a' : 'b');
        }
        assertEquals("aaabaaab", order.toString(), "Envoy's EDF order: deadlines 1/3, 2/3, 1 for a; 1 for b");
        assertEquals(Map.of("10.0.0.1", 300, "10.0.0.2", 100), picks(u, 400));

        Upstream three = upstream(LbPolicy.ROUND_ROBIN, false, List.of(ep("10.0.0.1", 20), ep("10.0.0.2", 50),
                ep("10.0.0.3", 30)));
        assertEquals(Map.of("10.0.0.1", 200, "10.0.0.2", 500, "10.0.0.3", 300), picks(three, 1000),
                "weights divided by their gcd: a schedule of 10");
    }

    @Test
    void equalWeightsAreThePlainRoundRobin() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, List.of(ep("10.0.0.1", 7), ep("10.0.0.2", 7)));
        assertEquals(Map.of("10.0.0.1", 50, "10.0.0.2", 50), picks(u, 100));
    }

    @Test
    void hugeWeightsAreScaledAndEveryEndpointKeepsASlot() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, List.of(ep("10.0.0.1", 1_000_000), ep("10.0.0.2", 1)));
        Map<String, Integer> counts = picks(u, Priorities.MAX_SCHEDULE + 1);
        assertEquals(1, counts.get("10.0.0.2"), counts.toString());
        assertEquals(Priorities.MAX_SCHEDULE, counts.get("10.0.0.1"), counts.toString());
    }

    @Test
    void leastRequestAndTheRingShareByWeightAndRandomIgnoresWeights() {
        List<Endpoint> eps = List.of(ep("10.0.0.1", 3), ep("10.0.0.2", 1));
        int lr = picks(upstream(LbPolicy.LEAST_REQUEST, false, eps), 8000).get("10.0.0.1");
        assertTrue(lr > 8000 * 0.70 && lr < 8000 * 0.80, "least request ~75%: " + lr);
        int ring = picks(upstream(LbPolicy.RING_HASH, false, eps), 8000).get("10.0.0.1");
        assertTrue(ring > 8000 * 0.65 && ring < 8000 * 0.85, "ring hash ~75% of keys: " + ring);
        int random = picks(upstream(LbPolicy.RANDOM, false, eps), 8000).get("10.0.0.1");
        assertTrue(random > 8000 * 0.45 && random < 8000 * 0.55, "random ~50%, as Envoy's: " + random);
    }

    @Test
    void anUnusableEndpointLeavesTheOthersSharesByTheirWeights() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, false, List.of(
                new Endpoint("10.0.0.1", 80, 5, 0, "", 1, Endpoint.Health.UNHEALTHY), ep("10.0.0.2", 2), ep("10.0.0.3", 1),
                ep("10.0.0.4", 1)));
        assertEquals(Map.of("10.0.0.2", 200, "10.0.0.3", 100, "10.0.0.4", 100), picks(u, 400));
    }
}
