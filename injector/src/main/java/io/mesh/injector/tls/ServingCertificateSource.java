package io.mesh.injector.tls;

/**
 * Where the webhook's serving certificate comes from. Today: {@link SelfSignedCertificateSource}. When
 * citadel serves CSRs, a citadel implementation sends a CSR for the injector's Service names over
 * {@code istio.v1.auth.IstioCertificateService/CreateCertificate} and returns citadel's chain and root as the
 * trust bundle; nothing else changes.
 *
 * <p>{@link #issue()} may block (key generation, a network call); it is never called on an event loop.
 */
public interface ServingCertificateSource {

    ServingCertificate issue() throws Exception;
}
