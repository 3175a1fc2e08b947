package io.mesh.injector;

import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import jakarta.interceptor.Interceptor;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Says, in one line, what injector listens on once it has started (after the webhook is listening). */
@Singleton
class InjectorStartup {

    private static final Logger LOG = Logger.getLogger(InjectorStartup.class);

    void onStart(@Observes @Priority(Interceptor.Priority.LIBRARY_AFTER + 100) StartupEvent event, InjectorConfig config,
            WebhookLifecycle webhook, @ConfigProperty(name = "quarkus.http.host") String host) {
        LOG.infof("injector listening: webhook https://%s:%d%s (AdmissionReview v1, TLS by %s), monitoring http://%s:%d (/q/health, /q/metrics)%s",
                webhook.webhookHost(), webhook.webhookPort(), WebhookLifecycle.INJECT_PATH,
                io.mesh.injector.webhook.AdmissionServer.tlsEngine(), host, config.monitoringPort(),
                webhook.caBundleFile().map(f -> "; CA bundle " + f.path()).orElse(""));
    }
}
