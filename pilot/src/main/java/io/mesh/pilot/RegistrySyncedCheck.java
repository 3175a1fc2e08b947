package io.mesh.pilot;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the registry has been read and the first snapshot built, so proxies never get an empty mesh. */
@Readiness
@ApplicationScoped
public class RegistrySyncedCheck implements HealthCheck {
    private final PilotStartup startup;

    public RegistrySyncedCheck(PilotStartup startup) {
        this.startup = startup;
    }

    @Override
    public HealthCheckResponse call() {
        PilotRuntime rt = startup.runtime();
        return HealthCheckResponse.named("registry synced").status(rt != null)
                .withData("services", rt == null ? 0 : rt.snapshot().services().size()).build();
    }
}
