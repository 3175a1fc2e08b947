package io.mesh.injector;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.inject.Singleton;
import java.time.Duration;

/**
 * The injector's metrics, with Istio's names: {@code sidecar_injection_requests_total},
 * {@code sidecar_injection_success_total}, {@code sidecar_injection_skip_total},
 * {@code sidecar_injection_failure_total}, and the time per review as {@code sidecar_injection_time_seconds}.
 * Template reloads are counted by result in {@code sidecar_injection_template_reloads_total}.
 */
@Singleton
public class InjectionMetrics {

    private final Counter requests;
    private final Counter success;
    private final Counter skip;
    private final Counter failure;
    private final Timer time;
    private final Counter reloadsApplied;
    private final Counter reloadsRefused;

    InjectionMetrics(MeterRegistry registry) {
        requests = Counter.builder("sidecar.injection.requests").description("Admission reviews of pods").register(registry);
        success = Counter.builder("sidecar.injection.success").description("Pods given a sidecar").register(registry);
        skip = Counter.builder("sidecar.injection.skip").description("Pods left without a sidecar by policy").register(registry);
        failure = Counter.builder("sidecar.injection.failure").description("Pods denied because injection failed").register(registry);
        time = Timer.builder("sidecar.injection.time").description("Time to answer one admission review")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(1)).register(registry);
        reloadsApplied = Counter.builder("sidecar.injection.template.reloads").tag("result", "applied")
                .description("Injection templates offered, by result").register(registry);
        reloadsRefused = Counter.builder("sidecar.injection.template.reloads").tag("result", "refused")
                .description("Injection templates offered, by result").register(registry);
    }

    public void request() {
        requests.increment();
    }

    public void injected(long startNanos) {
        success.increment();
        time.record(System.nanoTime() - startNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    public void skipped(long startNanos) {
        skip.increment();
        time.record(System.nanoTime() - startNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    public void failed(long startNanos) {
        failure.increment();
        time.record(System.nanoTime() - startNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    public void templateReload(boolean applied) {
        (applied ? reloadsApplied : reloadsRefused).increment();
    }
}
