package io.mesh.gateway.model;

/**
 * A certificate chain and private key from an SDS Secret, or (keyPem null) a trusted CA bundle from a
 * validation_context secret. The key is never logged or dumped.
 */
public record TlsCertificate(String name, String certPem, String keyPem) {

    @Override
    public String toString() {
        return "TlsCertificate[" + name + "]";
    }
}
