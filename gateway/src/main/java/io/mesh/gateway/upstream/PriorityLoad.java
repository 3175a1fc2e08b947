package io.mesh.gateway.upstream;

/**
 * Envoy's priority load and panic arithmetic, as a pure function of host counts (envoy
 * source/extensions/load_balancing_policies/common/load_balancer_impl.cc: recalculatePerPriorityState,
 * distributeLoad, recalculatePerPriorityPanic, recalculateLoadInTotalPanic, isHostSetInPanic; docs "Priority levels",
 * "Degraded endpoints", "Panic threshold"). Per priority: {@code hosts} all its hosts, {@code counted} those not
 * excluded (EDS DRAINING hosts are excluded), {@code healthy} and {@code degraded} the usable ones.
 *
 * <ul>
 * <li>A priority's health is {@code min(100, 140 × healthy / counted)} and its degraded availability
 * {@code min(100, 140 × degraded / counted)} (integers); the normalized total availability is the sum of both over
 * all priorities, capped at 100.</li>
 * <li>Priorities in order take {@code min(left, health × 100 / normalized)} percent as healthy load, then what is left
 * goes the same way by degraded availability; rounding leftovers go to the first priority with health, else the
 * first with degraded hosts.</li>
 * <li>Panic: never while the normalized total is 100. Below, a priority is in panic when its percentage of healthy
 * plus degraded hosts among the counted ones is under the threshold; a priority in panic is balanced over all its
 * hosts, whatever their health. When every priority is in panic (always so when nothing is available and the
 * threshold is above 0), the load follows the host counts. With threshold 0 and nothing available, priority 0 takes
 * the load and nothing can be picked.</li>
 * </ul>
 */
record PriorityLoad(int[] healthy, int[] degraded, boolean[] panic) {

    static final int OVERPROVISIONING = 140;

    static PriorityLoad of(int[] hosts, int[] counted, int[] healthy, int[] degraded, int panicThreshold) {
        int n = hosts.length;
        int[] health = new int[n];
        int[] degradedAvailability = new int[n];
        int sum = 0;
        for (int p = 0; p < n; p++) {
            if (counted[p] > 0) {
                health[p] = Math.min(100, OVERPROVISIONING * healthy[p] / counted[p]);
                degradedAvailability[p] = Math.min(100, OVERPROVISIONING * degraded[p] / counted[p]);
            }
            sum += health[p] + degradedAvailability[p];
        }
        int normalized = Math.min(100, sum);
        int[] healthyLoad = new int[n];
        int[] degradedLoad = new int[n];
        boolean[] panic = new boolean[n];
        if (normalized > 0) {
            int[] firstHealthy = new int[1];
            int left = distribute(healthyLoad, health, 100, normalized, firstHealthy);
            int[] firstDegraded = new int[1];
            left = distribute(degradedLoad, degradedAvailability, left, normalized, firstDegraded);
            if (left != 0) {
                if (firstHealthy[0] >= 0) {
                    healthyLoad[firstHealthy[0]] += left;
                } else {
                    degradedLoad[firstDegraded[0]] += left;
                }
            }
        }
        if (panicThreshold == 0 && normalized == 0) {
            healthyLoad[0] = 100;
            return new PriorityLoad(healthyLoad, degradedLoad, panic);
        }
        boolean totalPanic = true;
        for (int p = 0; p < n; p++) {
            panic[p] = normalized < 100 && inPanic(counted[p], healthy[p], degraded[p], panicThreshold);
            totalPanic &= panic[p];
        }
        if (totalPanic) {
            int all = 0;
            for (int h : hosts) {
                all += h;
            }
            java.util.Arrays.fill(healthyLoad, 0);
            java.util.Arrays.fill(degradedLoad, 0);
            if (all == 0) {
                healthyLoad[0] = 100;
                return new PriorityLoad(healthyLoad, degradedLoad, panic);
            }
            int left = 100;
            int firstNonEmpty = -1;
            for (int p = 0; p < n; p++) {
                if (firstNonEmpty < 0 && hosts[p] > 0) {
                    firstNonEmpty = p;
                }
                healthyLoad[p] = 100 * hosts[p] / all;
                left -= healthyLoad[p];
            }
            healthyLoad[firstNonEmpty] += left;
        }
        return new PriorityLoad(healthyLoad, degradedLoad, panic);
    }

    /** Envoy's isHostSetInPanic: the percentage of usable hosts among the counted ones is under the threshold. */
    static boolean inPanic(int counted, int healthy, int degraded, int panicThreshold) {
        double usable = counted == 0 ? 0 : 100.0 * healthy / counted + 100.0 * degraded / counted;
        return usable < panicThreshold;
    }

    /** Assigns {@code total} by availability in priority order; returns what is left, and the first available one. */
    private static int distribute(int[] load, int[] availability, int total, int normalized, int[] first) {
        first[0] = -1;
        for (int p = 0; p < availability.length; p++) {
            if (first[0] < 0 && availability[p] > 0) {
                first[0] = p;
            }
            load[p] = Math.min(total, availability[p] * 100 / normalized);
            total -= load[p];
        }
        return total;
    }
}
