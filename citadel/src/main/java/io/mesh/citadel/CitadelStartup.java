package io.mesh.citadel;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Says, in one line, what citadel listens on once it has started. */
@Singleton
class CitadelStartup {

    private static final Logger LOG = Logger.getLogger(CitadelStartup.class);

    void onStart(@Observes StartupEvent event, CitadelConfig config,
            @ConfigProperty(name = "quarkus.http.host") String host) {
        LOG.infof("citadel listening: monitoring http://%s:%d (/q/health, /q/metrics)", host, config.monitoringPort());
    }
}
