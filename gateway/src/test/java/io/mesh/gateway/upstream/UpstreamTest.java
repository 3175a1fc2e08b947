package io.mesh.gateway.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class UpstreamTest {

    static Vertx vertx;

    @BeforeAll
    static void start() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() {
        vertx.close();
    }

    static Upstream upstream(LbPolicy lb, OutlierPolicy outlier, int endpoints) {
        List<Endpoint> eps = new ArrayList<>();
        for (int i = 0; i < endpoints; i++) {
            eps.add(new Endpoint("10.0.0." + (i + 1), 8080, 1));
        }
        return new Upstream(vertx, new ClusterSpec("c", lb, 1000, 60_000, UpstreamProtocol.HTTP1, CircuitBreakers.DEFAULTS,
                outlier, null, null, eps, 1024));
    }

    @Test
    void roundRobinVisitsEveryEndpointInTurn() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, null, 3);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 300; i++) {
            counts.merge(u.pick(Long.MIN_VALUE, null).endpoint().host(), 1, Integer::sum);
        }
        assertEquals(Map.of("10.0.0.1", 100, "10.0.0.2", 100, "10.0.0.3", 100), counts);
    }

    @Test
    void leastRequestPrefersTheLessLoadedOfTwoChoices() {
        Upstream u = upstream(LbPolicy.LEAST_REQUEST, null, 2);
        EndpointState busy = u.endpoints().get(0);
        for (int i = 0; i < 10; i++) {
            u.onRequestStart(busy);
        }
        int idle = 0;
        for (int i = 0; i < 1000; i++) {
            if (u.pick(Long.MIN_VALUE, null) != busy) {
                idle++;
            }
        }
        // P2C picks the busy one only when both draws land on it: about a quarter of the time.
        assertTrue(idle > 650 && idle < 850, "idle endpoint chosen " + idle + " times");
    }

    @Test
    void ringHashIsStableAndMovesFewKeysWhenAnEndpointJoins() {
        Upstream u = upstream(LbPolicy.RING_HASH, null, 4);
        Map<String, String> before = new HashMap<>();
        for (int i = 0; i < 1000; i++) {
            String key = "user-" + i;
            before.put(key, u.pick(Hashing.hash(key), null).endpoint().host());
            assertEquals(before.get(key), u.pick(Hashing.hash(key), null).endpoint().host());
        }
        List<Endpoint> five = new ArrayList<>();
        u.endpoints().forEach(s -> five.add(s.endpoint()));
        five.add(new Endpoint("10.0.0.9", 8080, 1));
        u.setEndpoints(five);
        int moved = 0;
        for (var e : before.entrySet()) {
            if (!u.pick(Hashing.hash(e.getKey()), null).endpoint().host().equals(e.getValue())) {
                moved++;
            }
        }
        assertTrue(moved > 100 && moved < 350, moved + " of 1000 keys moved; about 1/5 should");
    }

    @Test
    void consecutiveErrorsEjectAnEndpointButNeverMoreThanTheMaxPercent() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, new OutlierPolicy(3, 0, 60_000, 300_000, 50), 4);
        List<EndpointState> eps = u.endpoints();
        for (EndpointState s : eps) {
            for (int i = 0; i < 3; i++) {
                u.onRequestStart(s);
                u.onRequestEnd(s, 503);
            }
        }
        long now = System.nanoTime();
        assertEquals(2, eps.stream().filter(s -> s.ejected(now)).count());
        for (int i = 0; i < 20; i++) {
            assertTrue(!u.pick(Long.MIN_VALUE, null).ejected(now));
        }
    }

    @Test
    void aSuccessResetsTheConsecutiveErrorCount() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, new OutlierPolicy(3, 0, 60_000, 300_000, 100), 2);
        EndpointState s = u.endpoints().get(0);
        for (int status : new int[] {500, 500, 200, 500, 500}) {
            u.onRequestStart(s);
            u.onRequestEnd(s, status);
        }
        assertTrue(!s.ejected(System.nanoTime()));
    }

    @Test
    void endpointStateSurvivesAnEdsUpdateThatKeepsTheAddress() {
        Upstream u = upstream(LbPolicy.ROUND_ROBIN, null, 2);
        EndpointState first = u.endpoints().get(0);
        u.setEndpoints(List.of(first.endpoint(), new Endpoint("10.0.0.7", 8080, 1)));
        assertEquals(first, u.endpoints().get(0));
        assertNotEquals(first, u.endpoints().get(1));
        u.setEndpoints(List.of());
        assertNull(u.pick(Long.MIN_VALUE, null));
    }

    @Test
    void theRequestBreakerOpensAtMaxRequests() {
        Upstream u = new Upstream(vertx, new ClusterSpec("c", LbPolicy.ROUND_ROBIN, 1000, 60_000, UpstreamProtocol.HTTP1,
                new CircuitBreakers(10, 10, 2, 1), null, null, null, List.of(), 1024));
        assertTrue(u.tryAcquireRequest());
        assertTrue(u.tryAcquireRequest());
        assertTrue(!u.tryAcquireRequest());
        u.releaseRequest();
        assertTrue(u.tryAcquireRequest());
        assertTrue(u.tryAcquireRetry());
        assertTrue(!u.tryAcquireRetry());
    }

    @Test
    void anOriginalDestinationIsDialledAtTheClustersPortOverride() {
        Upstream override = new Upstream(vertx, new ClusterSpec("c", LbPolicy.ORIGINAL_DST, 1000, 60_000,
                UpstreamProtocol.HTTP1, CircuitBreakers.DEFAULTS, null, null, null, List.of(), 1024, 6432));
        assertEquals(new Endpoint("198.51.100.9", 6432, 1),
                override.originalDestination("198.51.100.9", 5432).endpoint());
        Upstream none = new Upstream(vertx, new ClusterSpec("c", LbPolicy.ORIGINAL_DST, 1000, 60_000,
                UpstreamProtocol.HTTP1, CircuitBreakers.DEFAULTS, null, null, null, List.of(), 1024));
        assertEquals(new Endpoint("198.51.100.9", 5432, 1), none.originalDestination("198.51.100.9", 5432).endpoint());
    }
}
