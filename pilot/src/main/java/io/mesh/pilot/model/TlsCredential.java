package io.mesh.pilot.model;

/**
 * A gateway's TLS certificate, named by a Gateway server's credentialName: a Kubernetes Secret (tls.crt,
 * tls.key, optional ca.crt) or, locally, NAME.crt / NAME.key / NAME-cacert.crt files. PEM text; never logged.
 */
public record TlsCredential(String name, String certificateChain, String privateKey, String caCertificate) {
    @Override
    public String toString() {
        return "TlsCredential[" + name + "]";
    }
}
