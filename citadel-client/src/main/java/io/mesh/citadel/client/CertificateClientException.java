package io.mesh.citadel.client;

/** A certificate request that did not produce a usable certificate. The message never carries key material. */
public final class CertificateClientException extends Exception {

    public CertificateClientException(String message, Throwable cause) {
        super(message, cause);
    }
}
