package io.mesh.telemetry;

import io.mesh.telemetry.forward.SpanForwarder;
import io.mesh.telemetry.ingest.OtlpGrpcReceiver;
import io.mesh.telemetry.ingest.OtlpHttpReceiver;
import io.mesh.telemetry.metrics.SeriesTable;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Starts the OTLP receivers (and the forwarder) with the application, and says in one line what it listens on. */
@Singleton
class TelemetryStartup {

    private static final Logger LOG = Logger.getLogger(TelemetryStartup.class);

    @Inject
    TelemetryConfig config;
    @Inject
    OtlpGrpcReceiver grpc;
    @Inject
    OtlpHttpReceiver http;
    @Inject
    Optional<SpanForwarder> forwarder;
    @Inject
    SeriesTable series;

    void onStart(@Observes StartupEvent event, @ConfigProperty(name = "quarkus.http.host") String host) {
        String otlpHost = config.otlpHost().orElse(host);
        forwarder.ifPresent(SpanForwarder::start);
        grpc.start(otlpHost, config.otlpGrpcPort());
        http.start(otlpHost, config.otlpHttpPort());
        LOG.infof("telemetry listening: OTLP/gRPC %s:%d, OTLP/HTTP http://%s:%d (/v1/traces, /v1/metrics); "
                + "monitoring http://%s:%d (/q/health, /q/metrics, /api/graph, /api/traces, /graph/)%s",
                otlpHost, grpc.port(), otlpHost, http.port(), host, config.monitoringPort(),
                config.forward().endpoint().map(e -> "; forwarding spans to " + e).orElse(""));
    }

    void onStop(@Observes ShutdownEvent event) {
        grpc.stop();
        http.stop();
        forwarder.ifPresent(SpanForwarder::stop);
    }
}
