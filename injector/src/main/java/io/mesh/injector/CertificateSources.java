package io.mesh.injector;

import io.mesh.injector.tls.SelfSignedCertificateSource;
import io.mesh.injector.tls.ServingCertificateSource;
import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.Clock;

/**
 * The webhook's certificate source: self-signed unless another {@link ServingCertificateSource} bean is
 * present (the citadel-backed one, once citadel serves CSRs).
 */
@Singleton
class CertificateSources {

    @Produces
    @Singleton
    @DefaultBean
    ServingCertificateSource selfSigned(InjectorConfig config) {
        return new SelfSignedCertificateSource(config.tls().dnsNames(), config.tls().certTtl(), Clock.systemUTC());
    }
}
