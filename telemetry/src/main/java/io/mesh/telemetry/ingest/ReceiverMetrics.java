package io.mesh.telemetry.ingest;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** Counts export requests by transport, signal and outcome ({@code telemetry_otlp_requests_total}). */
public final class ReceiverMetrics {

    private final MeterRegistry registry;

    public ReceiverMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** {@code outcome}: accepted, malformed, too_large, throttled, unsupported or failed. */
    public void request(String transport, String signal, String outcome) {
        Counter.builder("telemetry.otlp.requests")
                .description("OTLP export requests by transport, signal and outcome")
                .tag("transport", transport).tag("signal", signal).tag("outcome", outcome)
                .register(registry).increment();
    }
}
