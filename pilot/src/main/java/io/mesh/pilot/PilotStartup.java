package io.mesh.pilot;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Says, in one line, what pilot listens on once it has started. */
@Singleton
class PilotStartup {

    private static final Logger LOG = Logger.getLogger(PilotStartup.class);

    void onStart(@Observes StartupEvent event, PilotConfig config,
            @ConfigProperty(name = "quarkus.http.host") String host) {
        LOG.infof("pilot listening: monitoring http://%s:%d (/q/health, /q/metrics)", host, config.monitoringPort());
    }
}
