package io.mesh.gateway;

import io.mesh.gateway.agent.DrainRequest;
import io.mesh.gateway.agent.QuitRequest;
import io.mesh.gateway.agent.TerminationDrain;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import io.opentelemetry.api.OpenTelemetry;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Starts the data plane on Quarkus's Vert.x (native epoll when available) and drains it on shutdown. Says,
 * in one line, what gateway listens on once it has started.
 */
@Singleton
class GatewayStartup {

    private static final Logger LOG = Logger.getLogger(GatewayStartup.class);

    private volatile Gateway gateway;
    private volatile TerminationDrain termination;

    void onStart(@Observes StartupEvent event, GatewayConfig config, Vertx vertx, MeterRegistry registry,
            Instance<PrometheusMeterRegistry> prometheus, Instance<OpenTelemetry> otel, @ConfigProperty(name = "quarkus.otel.sdk.disabled") boolean otelDisabled,
            @ConfigProperty(name = "quarkus.http.host") String host, DrainRequest drainRequest) throws Exception {
        // OTLP only when the SDK is on (QUARKUS_OTEL_SDK_DISABLED=false); otherwise requests skip it entirely.
        OpenTelemetry reporting = otelDisabled || !otel.isResolvable() ? null : otel.get();
        // istio-agent's shutdown settings, read once; a malformed one fails the start naming it.
        termination = TerminationDrain.from(System.getenv(), config.listeners().drainTimeout());
        // Istio's meters get a Micrometer registry of their own that writes into the Prometheus collector registry
        // /q/metrics and 15020 expose. Recorded per proxied request (a counter and three histograms), they skip what
        // Quarkus's registry adds to every record: its global composite's extra layer of meters, the exemplar sampler
        // (a clock read and an OpenTelemetry context lookup per histogram value; Istio's metrics carry no exemplars),
        // and Micrometer's wall-clock reads (MetricsClock).
        MeterRegistry istio = prometheus.isResolvable()
                ? new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, prometheus.get().getPrometheusRegistry(),
                        MetricsClock.on(vertx))
                : registry;
        gateway = Gateway.start(vertx, config, istio, reporting).toCompletionStage().toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
        Gateway started = gateway;
        drainRequest.onRequest(() -> started.drainNow(termination.duration()));
        LOG.infof("gateway (%s) listening: monitoring http://%s:%d (/q/health, /q/metrics), health :%d/healthz/ready, "
                + "admin 127.0.0.1:%d (/config_dump, /clusters), xDS %s, native transport %s, TLS %s, OTLP %s; data-plane "
                + "listeners come from %s (LDS port 80 -> %d, 443 -> %d)",
                config.mode(), host, config.monitoringPort(), gateway.statusPort(), gateway.adminPort(),
                config.xds().enabled() ? config.xds().address() : "off", vertx.isNativeTransportEnabled(),
                gateway.dataPlane().tlsEngineName(),
                reporting == null ? "off" : "on",
                config.bootstrapFile().map(f -> "bootstrap " + f + (config.xds().enabled() ? " and LDS" : "")).orElse("LDS"),
                config.listeners().httpPort(), config.listeners().httpsPort());
    }

    void onStop(@Observes ShutdownEvent event, GatewayConfig config, QuitRequest quit) {
        Gateway g = gateway;
        if (g != null) {
            TerminationDrain policy = quit.requested() ? termination.quit() : termination;
            try {
                g.terminate(policy).toCompletionStage().toCompletableFuture()
                        .get(policy.duration().toMillis() + 5000, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.warnf("drain did not finish cleanly: %s", e.getMessage());
            }
        }
    }

    Gateway gateway() {
        return gateway;
    }
}
