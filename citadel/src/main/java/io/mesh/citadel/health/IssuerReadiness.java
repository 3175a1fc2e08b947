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

    private final CitadelRuntime runtime;

    IssuerReadiness(CitadelRuntime runtime) {
        this.runtime = runtime;
    }

    @Override
    public HealthCheckResponse call() {
        CertificateIssuer issuer = runtime.issuer();
        if (issuer == null) {
            return HealthCheckResponse.named("CA issuer loaded and valid").down().withData("reason", "not loaded yet").build();
        }
        var root = issuer.material().root();
        return HealthCheckResponse.named("CA issuer loaded and valid").status(issuer.validNow())
                .withData("issuer", issuer.material().certificate().getSubjectX500Principal().getName())
                .withData("rootNotAfter", root.getNotAfter().toInstant().toString())
                .build();
    }
}
