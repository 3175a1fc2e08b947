package io.mesh.telemetry;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Says, in one line, what telemetry listens on once it has started. */
@Singleton
class TelemetryStartup {

    private static final Logger LOG = Logger.getLogger(TelemetryStartup.class);

    void onStart(@Observes StartupEvent event, TelemetryConfig config,
            @ConfigProperty(name = "quarkus.http.host") String host) {
        LOG.infof("telemetry listening: monitoring http://%s:%d (/q/health, /q/metrics)", host, config.monitoringPort());
    }
}
