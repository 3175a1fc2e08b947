package io.mesh.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The coarse wall clock keeps up with the real one, and a Prometheus registry on it still rotates its maxima. */
class MetricsClockTest {

    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() {
        vertx.close().toCompletionStage().toCompletableFuture().join();
    }

    @Test
    void wallTimeFollowsTheSystemClockWithinItsRefreshPeriod() {
        long before = System.currentTimeMillis();
        MetricsClock clock = MetricsClock.on(vertx);
        long first = clock.wallTime();
        assertTrue(first >= before && first <= System.currentTimeMillis(), "starts at the current time");
        // It moves on by itself, without any caller reading the system clock through it.
        await().atMost(Duration.ofSeconds(5)).until(() -> clock.wallTime() >= first + 3 * MetricsClock.REFRESH_MS);
        for (int i = 0; i < 20; i++) {
            long lag = System.currentTimeMillis() - clock.wallTime();
            // Refreshed every REFRESH_MS; a loaded machine may run the timer late, so allow a wide margin.
            assertTrue(lag >= 0 && lag < 20 * MetricsClock.REFRESH_MS, "lag " + lag + " ms");
        }
        long t0 = System.nanoTime();
        assertTrue(clock.monotonicTime() >= t0, "monotonic time is exact");
    }

    @Test
    void aHistogramsMaximumStillExpiresOnTheCoarseClock() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT,
                new io.prometheus.client.CollectorRegistry(), MetricsClock.on(vertx));
        DistributionSummary s = DistributionSummary.builder("istio_request_bytes").serviceLevelObjectives(1, 10, 100)
                .distributionStatisticExpiry(Duration.ofMillis(600)).distributionStatisticBufferLength(1)
                .register(registry);
        s.record(50);
        assertTrue(registry.scrape().contains("istio_request_bytes_max 50.0"), registry.scrape());
        await().atMost(Duration.ofSeconds(10)).until(() -> registry.scrape().contains("istio_request_bytes_max 0.0"));
        assertTrue(registry.scrape().contains("istio_request_bytes_count 1.0"), "counts are cumulative");
    }
}
