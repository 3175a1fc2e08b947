package io.mesh.gateway.upstream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Envoy's priority and panic arithmetic on two priorities of 100 hosts each, the rows of Envoy's "Panic threshold"
 * examples (default threshold 50%), plus degraded hosts and excluded (DRAINING) ones. Where the docs round, the
 * expectation is what Envoy's code computes (load_balancer_impl.cc: integer percentages, leftovers to the first
 * priority with health): 5% and 65% healthy give 8/92, the docs print 7/93.
 */
class PriorityLoadTest {

    @ParameterizedTest(name = "{0}% and {1}% healthy -> {2}/{3}, panic {4}/{5}")
    @CsvSource({
            "100, 100, 100, 0, false, false",
            "72, 72, 100, 0, false, false",
            "71, 71, 99, 1, false, false",
            "50, 60, 70, 30, false, false",
            "25, 100, 35, 65, false, false",
            "25, 25, 50, 50, true, true",
            "5, 65, 8, 92, true, false",
            "0, 0, 50, 50, true, true",
            "0, 40, 50, 50, true, true",
            "0, 60, 0, 100, true, false",
    })
    void twoPrioritiesShareTheLoadAndPanicAsEnvoysExamples(int healthy0, int healthy1, int load0, int load1,
            boolean panic0, boolean panic1) {
        PriorityLoad l = PriorityLoad.of(new int[] {100, 100}, new int[] {100, 100}, new int[] {healthy0, healthy1},
                new int[] {0, 0}, 50);
        assertArrayEquals(new int[] {load0, load1}, l.healthy());
        assertArrayEquals(new boolean[] {panic0, panic1}, l.panic());
    }

    @ParameterizedTest(name = "threshold 0: {0}% and {1}% healthy -> {2}/{3}, no panic")
    @CsvSource({
            "25, 25, 50, 50",
            "0, 40, 0, 100",
            "0, 0, 100, 0",
    })
    void withThreshold0NoPriorityPanicsAndNothingAvailableLeavesTheLoadOnPriority0(int healthy0, int healthy1,
            int load0, int load1) {
        PriorityLoad l = PriorityLoad.of(new int[] {100, 100}, new int[] {100, 100}, new int[] {healthy0, healthy1},
                new int[] {0, 0}, 0);
        assertArrayEquals(new int[] {load0, load1}, l.healthy());
        assertArrayEquals(new boolean[] {false, false}, l.panic());
    }

    @ParameterizedTest(name = "{0} healthy and {1} degraded of 10 -> healthy {2}, degraded {3}, panic {4}")
    @CsvSource({
            "10, 0, 100, 0, false",
            "5, 5, 70, 30, false",
            "2, 3, 40, 60, false",
            "0, 6, 0, 100, false",
            "1, 3, 100, 0, true",
    })
    void degradedHostsTakeWhatTheHealthyOnesCannot(int healthy, int degraded, int healthyLoad, int degradedLoad,
            boolean panic) {
        // One priority of 10 hosts: health 140 × healthy / 10, degraded availability 140 × degraded / 10, normalized.
        PriorityLoad l = PriorityLoad.of(new int[] {10}, new int[] {10}, new int[] {healthy}, new int[] {degraded}, 50);
        assertArrayEquals(new int[] {healthyLoad}, l.healthy());
        assertArrayEquals(new int[] {degradedLoad}, l.degraded());
        assertArrayEquals(new boolean[] {panic}, l.panic());
    }

    @ParameterizedTest(name = "{0} of 5 draining, {1} healthy -> {2}/{3}")
    @CsvSource({
            "3, 2, 100, 0",
            "0, 2, 56, 44",
            "5, 0, 0, 100",
    })
    void excludedHostsCountInNoPrioritysHealth(int draining, int healthy, int load0, int load1) {
        PriorityLoad l = PriorityLoad.of(new int[] {5, 1}, new int[] {5 - draining, 1}, new int[] {healthy, 1},
                new int[] {0, 0}, 50);
        assertArrayEquals(new int[] {load0, load1}, l.healthy());
    }
}
