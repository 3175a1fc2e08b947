package io.mesh.gateway;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Says, in one line, what gateway listens on once it has started. */
@Singleton
class GatewayStartup {

    private static final Logger LOG = Logger.getLogger(GatewayStartup.class);

    void onStart(@Observes StartupEvent event, GatewayConfig config,
            @ConfigProperty(name = "quarkus.http.host") String host) {
        LOG.infof("gateway listening: monitoring http://%s:%d (/q/health, /q/metrics)", host, config.monitoringPort());
    }
}
