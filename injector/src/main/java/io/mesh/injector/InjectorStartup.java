package io.mesh.injector;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Says, in one line, what injector listens on once it has started. */
@Singleton
class InjectorStartup {

    private static final Logger LOG = Logger.getLogger(InjectorStartup.class);

    void onStart(@Observes StartupEvent event, InjectorConfig config,
            @ConfigProperty(name = "quarkus.http.host") String host) {
        LOG.infof("injector listening: monitoring http://%s:%d (/q/health, /q/metrics)", host, config.monitoringPort());
    }
}
