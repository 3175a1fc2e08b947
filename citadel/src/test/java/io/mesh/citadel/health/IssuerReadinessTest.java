package io.mesh.citadel.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.CertificateIssuerTestSupport;
import io.mesh.citadel.ca.TtlPolicy;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import org.eclipse.microprofile.health.HealthCheckResponse.Status;
import org.junit.jupiter.api.Test;

class IssuerReadinessTest {

    @Test
    void readyOnlyWhileTheIssuerIsLoadedAndValid() throws Exception {
        var material = CertificateIssuerTestSupport.selfSigned();
        var afterExpiry = Clock.fixed(material.expiry().plus(Duration.ofSeconds(1)), ZoneOffset.UTC);

        assertEquals(Status.DOWN, IssuerReadiness.check(null).getStatus());
        assertEquals(Status.UP, IssuerReadiness.check(new CertificateIssuer(material, TtlPolicy.ISTIO, Clock.systemUTC())).getStatus());
        assertEquals(Status.DOWN, IssuerReadiness.check(new CertificateIssuer(material, TtlPolicy.ISTIO, afterExpiry)).getStatus());
    }
}
