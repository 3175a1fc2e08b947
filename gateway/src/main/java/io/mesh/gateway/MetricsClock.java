package io.mesh.gateway;

import io.micrometer.core.instrument.Clock;
import io.vertx.core.Vertx;

/**
 * Micrometer's clock for the data plane's Istio meters (see GatewayStartup): wall time is a field
 * refreshed every {@value #REFRESH_MS} ms by a Vert.x timer instead of a clock read per call; monotonic time stays
 * {@link System#nanoTime()}.
 *
 * <p>Why: Micrometer reads the wall clock twice for every value a histogram records (its {@code TimeWindowMax} and
 * its window rotation), so Istio's three histograms read it six times per proxied request, about 1 % of the data
 * plane's CPU at full load (bench/results/gateway-notes.md). The Prometheus registry uses wall time only to rotate
 * those windows, every {@code distributionStatisticExpiry / bufferLength} (40 s by default), and Prometheus's
 * exposition carries no timestamps, so a wall time at most {@value #REFRESH_MS} ms old changes nothing a scrape shows, and an idle proxy wakes once
 * a second for it.
 * Durations ({@code Timer}, {@code LongTaskTimer}) use {@link #monotonicTime()}, which is exact.
 */
public final class MetricsClock implements Clock {

    static final long REFRESH_MS = 1000;

    private volatile long wallTime = System.currentTimeMillis();

    /** Starts refreshing on {@code vertx}'s timer (one event every {@value #REFRESH_MS} ms for the whole process). */
    public static MetricsClock on(Vertx vertx) {
        MetricsClock clock = new MetricsClock();
        vertx.setPeriodic(REFRESH_MS, id -> clock.wallTime = System.currentTimeMillis());
        return clock;
    }

    private MetricsClock() {
    }

    @Override
    public long wallTime() {
        return wallTime;
    }

    @Override
    public long monotonicTime() {
        return System.nanoTime();
    }
}
