package io.mesh.pilot.xds;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.function.Supplier;

/** The xDS metrics, under Istio's names (pilot_xds, pilot_xds_pushes{type}, pilot_total_xds_rejects, ...). */
public final class XdsMetrics {
    private final MeterRegistry registry;

    public XdsMetrics(MeterRegistry registry, Supplier<Number> connections, Supplier<Number> services) {
        this.registry = registry;
        io.micrometer.core.instrument.Gauge.builder("pilot_xds", connections)
                .description("Connected xDS clients").register(registry);
        io.micrometer.core.instrument.Gauge.builder("pilot_services", services)
                .description("Services known to pilot").register(registry);
    }

    public void pushed(String typeUrl) {
        Counter.builder("pilot_xds_pushes").description("xDS responses sent, by type").tag("type", shortType(typeUrl))
                .register(registry).increment();
    }

    public void rejected(String typeUrl) {
        Counter.builder("pilot_total_xds_rejects").description("xDS responses NACKed by clients")
                .tag("type", shortType(typeUrl)).register(registry).increment();
    }

    public void trigger(String reason) {
        Counter.builder("pilot_push_triggers").description("Push triggers, by reason").tag("type", reason)
                .register(registry).increment();
    }

    public void pushTime(String typeUrl, Duration d) {
        Timer.builder("pilot_xds_push_time").description("Time to generate and send one xDS response")
                .tag("type", shortType(typeUrl)).register(registry).record(d);
    }

    public void convergence(Duration d) {
        Timer.builder("pilot_proxy_convergence_time")
                .description("Time from a config change to the proxy's ACK of the pushed config")
                .register(registry).record(d);
    }

    public void overflow() {
        Counter.builder("pilot_xds_push_queue_overflows")
                .description("Streams closed because the client could not keep up").register(registry).increment();
    }

    public void configRejected(String kind) {
        Counter.builder("pilot_config_rejections").description("Istio resources rejected by validation")
                .tag("kind", kind).register(registry).increment();
    }

    public static String shortType(String typeUrl) {
        return switch (typeUrl) {
            case io.envoyproxy.controlplane.cache.Resources.V3.LISTENER_TYPE_URL -> "lds";
            case io.envoyproxy.controlplane.cache.Resources.V3.ROUTE_TYPE_URL -> "rds";
            case io.envoyproxy.controlplane.cache.Resources.V3.CLUSTER_TYPE_URL -> "cds";
            case io.envoyproxy.controlplane.cache.Resources.V3.ENDPOINT_TYPE_URL -> "eds";
            case io.envoyproxy.controlplane.cache.Resources.V3.SECRET_TYPE_URL -> "sds";
            default -> "other";
        };
    }
}
