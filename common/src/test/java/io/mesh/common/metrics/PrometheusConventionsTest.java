package io.mesh.common.metrics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.Promtool;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

class PrometheusConventionsTest {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    PrometheusConventionsTest() {
        registry.config().meterFilter(new PrometheusConventions());
    }

    @Test
    void metersThatBreakPrometheusLintRulesAreFixedSoPromtoolAcceptsThem() {
        Gauge.builder("netty.allocator.memory.used", () -> 1.0).register(registry);
        Gauge.builder("system.cpu.count", () -> 2.0).register(registry);
        Gauge.builder("process.cpu.usage", () -> 0.5).description("The \"recent cpu usage\" of the JVM").register(registry);
        FunctionCounter.builder("process.cpu.time", this, x -> 1.0).baseUnit("ns").register(registry);
        LongTaskTimer.builder("http.server.connections").register(registry).start();
        Counter.builder("pilot.xds.pushes").description("Pushes").register(registry).increment();

        String exposition = registry.scrape("text/plain; version=0.0.4; charset=utf-8");

        Promtool.assertValidMetrics(exposition);
        assertTrue(exposition.contains("# HELP netty_allocator_memory_used Netty allocator memory used"), exposition);
        assertTrue(exposition.contains("system_cpu_available 2.0"), exposition);
        assertFalse(exposition.contains("process_cpu_time_ns"), exposition);
        assertFalse(exposition.contains("http_server_connections"), exposition);
        assertTrue(exposition.contains("pilot_xds_pushes_total 1.0"), exposition);
    }

    @Test
    void openMetricsHelpTextCarriesNoQuotesSoBothFormatsParse() {
        Gauge.builder("process.cpu.usage", () -> 0.5).description("The \"recent cpu usage\" of the JVM").register(registry);

        String openMetrics = registry.scrape("application/openmetrics-text; version=1.0.0; charset=utf-8");

        assertTrue(openMetrics.contains("# HELP process_cpu_usage The recent cpu usage of the JVM"), openMetrics);
        Promtool.assertValidMetrics(registry.scrape("text/plain; version=0.0.4; charset=utf-8"));
    }
}
