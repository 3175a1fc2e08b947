package io.mesh.injector.health;

import io.mesh.injector.WebhookLifecycle;
import io.mesh.injector.inject.SidecarInjector;
import jakarta.inject.Singleton;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/** Ready once an injection template is in use; names it, and the last refused template's reason. */
@Readiness
@Singleton
class TemplateReadiness implements HealthCheck {

    private final WebhookLifecycle webhook;

    TemplateReadiness(WebhookLifecycle webhook) {
        this.webhook = webhook;
    }

    @Override
    public HealthCheckResponse call() {
        Optional<SidecarInjector> current = webhook.injector().get();
        HealthCheckResponseBuilder response = HealthCheckResponse.named("injection template").status(current.isPresent());
        current.ifPresent(injector -> response.withData("origin", injector.template().origin()));
        webhook.injector().lastError().ifPresent(error -> response.withData("refused", error));
        return response.build();
    }
}
