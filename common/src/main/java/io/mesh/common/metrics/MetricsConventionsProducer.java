package io.mesh.common.metrics;

import io.micrometer.core.instrument.config.MeterFilter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** Registers {@link PrometheusConventions} with every Micrometer registry of the component (Quarkus applies MeterFilter beans). */
@Singleton
public class MetricsConventionsProducer {

    @Produces
    @Singleton
    MeterFilter prometheusConventions() {
        return new PrometheusConventions();
    }
}
