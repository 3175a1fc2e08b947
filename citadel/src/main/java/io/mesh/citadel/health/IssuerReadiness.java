package io.mesh.citadel.health;

import io.mesh.citadel.CitadelRuntime;
import io.mesh.citadel.ca.CertificateIssuer;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready means: the CA issuer is loaded and its whole chain is valid now, so a CSR would be signed. */
@Readiness
@Singleton
public class IssuerReadiness implements HealthCheck {

    static final String NAME = "CA issuer loaded and valid";

    private final CitadelRuntime runtime;

    IssuerReadiness(CitadelRuntime runtime) {
        this.runtime = runtime;
    }

    @Override
    public HealthCheckResponse call() {
        return check(runtime.issuer());
    }

    static HealthCheckResponse check(CertificateIssuer issuer) {
        if (issuer == null) {
            return HealthCheckResponse.named(NAME).down().withData("reason", "not loaded yet").build();
        }
        return HealthCheckResponse.named(NAME).status(issuer.validNow())
                .withData("issuer", issuer.material().certificate().getSubjectX500Principal().getName())
                .withData("notAfter", issuer.material().expiry().toString())
                .build();
    }
}
