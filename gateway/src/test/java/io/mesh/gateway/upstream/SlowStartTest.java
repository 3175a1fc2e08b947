package io.mesh.gateway.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Envoy's slow start over the weighted round robin: an endpoint that joined within the window gets its weight times
 * {@code max(minWeightPercent, (max(age, 1 s) / window) ^ (1 / aggression))}, worked out again as it ages, and all
 * of it once the window is over. Picks are made at chosen instants ({@code Priorities.pick}'s clock).
 */
class SlowStartTest {

    static final long S = 1_000_000_000L;

    @Test
    void theFactorIsEnvoysFormula() {
        SlowStart linear = new SlowStart(10 * S, 1.0, 10.0);
        assertEquals(0.1, linear.factor(0, 0), 1e-9, "an age under 1 s counts as 1 s: 1/10, the minimum");
        assertEquals(0.5, linear.factor(0, 5 * S), 1e-9);
        assertEquals(1.0, linear.factor(0, 10 * S), 1e-9, "out of the window");
        SlowStart aggressive = new SlowStart(10 * S, 2.0, 10.0);
        assertEquals(Math.sqrt(0.25), aggressive.factor(0, (long) (2.5 * S)), 1e-9, "(2.5/10)^(1/2)");
        SlowStart floor = new SlowStart(100 * S, 1.0, 30.0);
        assertEquals(0.3, floor.factor(0, 10 * S), 1e-9, "10/100 under the 30 % floor");
        assertEquals(50_000_000L, new SlowStart(S / 2, 1.0, 10.0).stepNanos());
        assertEquals(S, new SlowStart(600 * S, 1.0, 10.0).stepNanos());
    }

    static Map<String, Integer> picks(Priorities p, long now, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            counts.merge(p.pick(Long.MIN_VALUE, now, null).endpoint().host(), 1, Integer::sum);
        }
        return counts;
    }

    static Priorities roundRobin(SlowStart slowStart, EndpointState... states) {
        ClusterSpec spec = new ClusterSpec("c", LbPolicy.ROUND_ROBIN, 1000, 60_000, UpstreamProtocol.HTTP1,
                CircuitBreakers.DEFAULTS, null, null, null, List.of(), 1024, 0, false, null, 0, null, 0, List.of(),
                ClusterSpec.DEFAULT_OVERRIDE_HOST_STATUS, slowStart);
        return Priorities.of(states, java.util.Arrays.stream(states).map(s -> s.endpoint).toList(), spec, 1024);
    }

    @Test
    void aNewEndpointRampsUpOverTheWindowWhileAnOldOneKeepsItsWeight() {
        long t = 1_000 * S;
        EndpointState old = new EndpointState(new Endpoint("10.0.0.1", 80, 1), 0, t - 100 * S);
        EndpointState fresh = new EndpointState(new Endpoint("10.0.0.2", 80, 1), 0, t);
        Priorities p = roundRobin(new SlowStart(10 * S, 1.0, 10.0), old, fresh);
        assertEquals(Map.of("10.0.0.1", 100, "10.0.0.2", 10), picks(p, t, 110), "10 % at first");
        assertEquals(Map.of("10.0.0.1", 100, "10.0.0.2", 50), picks(p, t + 5 * S, 150), "half way: half its weight");
        assertEquals(Map.of("10.0.0.1", 50, "10.0.0.2", 50), picks(p, t + 10 * S, 100), "the window is over");
    }

    @Test
    void withoutSlowStartOrWhenAllAreNewTheSplitIsEven() {
        long t = 1_000 * S;
        EndpointState a = new EndpointState(new Endpoint("10.0.0.1", 80, 1), 0, t - 100 * S);
        EndpointState b = new EndpointState(new Endpoint("10.0.0.2", 80, 1), 0, t);
        assertEquals(Map.of("10.0.0.1", 50, "10.0.0.2", 50), picks(roundRobin(null, a, b), t, 100));
        EndpointState c = new EndpointState(new Endpoint("10.0.0.1", 80, 1), 0, t);
        EndpointState d = new EndpointState(new Endpoint("10.0.0.2", 80, 1), 0, t);
        assertEquals(Map.of("10.0.0.1", 50, "10.0.0.2", 50), picks(roundRobin(new SlowStart(10 * S, 1.0, 10.0), c, d),
                t + 2 * S, 100), "joined together: the same factor");
    }
}
