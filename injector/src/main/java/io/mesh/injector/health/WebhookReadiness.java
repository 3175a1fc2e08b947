package io.mesh.injector.health;

import io.mesh.injector.WebhookLifecycle;
import io.mesh.injector.kube.WebhookCaBundlePublisher;
import jakarta.inject.Singleton;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the webhook listens with TLS and, in Kubernetes mode, the webhook configuration trusts its
 * certificate. A configuration that does not exist yet does not hold readiness back (it is patched when it
 * appears); a failed patch does, since the API server could not call the webhook.
 */
@Readiness
@Singleton
class WebhookReadiness implements HealthCheck {

    private final WebhookLifecycle webhook;

    WebhookReadiness(WebhookLifecycle webhook) {
        this.webhook = webhook;
    }

    @Override
    public HealthCheckResponse call() {
        int port = webhook.webhookPort();
        boolean up = port > 0;
        HealthCheckResponseBuilder response = HealthCheckResponse.named("admission webhook").withData("port", port);
        Optional<WebhookCaBundlePublisher> caBundle = webhook.caBundle();
        if (caBundle.isPresent()) {
            String status = caBundle.get().status();
            response.withData("caBundle", status);
            up &= caBundle.get().current() || status.endsWith("not found") || status.endsWith("deleted");
        }
        return response.status(up).build();
    }
}
