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
        return new Upstream(vertx, new ClusterSpec("c", lb, 1000, 60_000, UpstreamProtocol.HTTP1,
                CircuitBreakers.DEFAULTS, new OutlierPolicy(1, 0, 60_000, 300_000, 100), null, null, eps, 1024, 0,
                localityWeighted, null));
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
}
