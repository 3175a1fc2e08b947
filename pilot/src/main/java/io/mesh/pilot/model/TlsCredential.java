package io.mesh.pilot.model;

/**
 * A gateway's TLS certificate, named by a Gateway server's credentialName: a Kubernetes Secret (tls.crt,
 * tls.key, optional ca.crt) or, locally, NAME.crt / NAME.key / NAME-cacert.crt files. PEM text; never logged.
 */
public record TlsCredential(String name, String certificateChain, String privateKey, String caCertificate) {
    /**
     * The scheme of the credentials of the Gateway API's Gateways, as istiod names them
     * ({@code credentials.ToKubernetesGatewayResource}): {@code kubernetes-gateway://NAMESPACE/NAME}, the Secret's own
     * namespace, whereas an Istio Gateway's credentialName is a bare name in the credentials namespace.
     */
    public static final String KUBERNETES_GATEWAY = "kubernetes-gateway://";

    /** The credential name of Secret {@code name} in {@code namespace} referenced by a Gateway API Gateway. */
    public static String kubernetesGateway(String namespace, String name) {
        return KUBERNETES_GATEWAY + namespace + "/" + name;
    }

    @Override
    public String toString() {
        return "TlsCredential[" + name + "]";
    }
}
