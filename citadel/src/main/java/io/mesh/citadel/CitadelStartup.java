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

    void onStart(@Observes StartupEvent event, CitadelConfig config, CitadelRuntime runtime,
            @ConfigProperty(name = "quarkus.http.host") String host) {
        LOG.infof("citadel listening (%s mode): CA gRPC+TLS %s:%d (istio.v1.auth.IstioCertificateService), "
                + "monitoring http://%s:%d (/q/health, /q/metrics)", runtime.mode().name().toLowerCase(java.util.Locale.ROOT),
                config.grpcHost(), runtime.grpcPort(), host, config.monitoringPort());
    }
}
