package io.mesh.pilot.generator;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.TlsCredential;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * SDS for router proxies: "kubernetes://NAME" is the certificate and key of a Gateway server's credentialName (or of
 * each of its credentialNames), "kubernetes://NAME-cacert" its CA for client certificates (MUTUAL). A Gateway API
 * Gateway's certificate is named as istiod names it, "kubernetes-gateway://NAMESPACE/NAME" (the Secret's namespace; the
 * translation puts it on a server only when it is the Gateway's namespace or a ReferenceGrant permits it, as istiod's
 * VerifiedCertificateReferences). Only routers get those, and only ones a Gateway selecting them names. A
 * BackendTLSPolicy's CA, "configmap://NAMESPACE/NAME-cacert" (the ConfigMap's ca.crt), goes to any proxy that asks, as
 * istiod's: it holds no key. Workload certificates ("default", "ROOTCA") come from citadel, not from here.
 */
public final class SecretGenerator {
    public static final String PREFIX = "kubernetes://";
    /** The suffix of a credential's CA resource ({@code NAME-cacert}), istiod's {@code SdsCaSuffix}. */
    public static final String CA_SUFFIX = "-cacert";

    /**
     * The SDS resource name of a credentialName, as istiod's {@code credentials.ToResourceName}: a name with a scheme
     * ("kubernetes-gateway://NS/NAME") as it is, a bare name as "kubernetes://NAME".
     */
    public static String resourceName(String credentialName) {
        return credentialName.contains("://") ? credentialName : PREFIX + credentialName;
    }

    private SecretGenerator() {
    }

    public static List<Secret> generate(ProxyInfo proxy, MeshSnapshot snapshot, Set<String> names) {
        List<Secret> out = new ArrayList<>();
        // A BackendTLSPolicy's CA ConfigMap: a CA, no key, so any proxy may have it (istiod's filterAuthorizedResources
        // lets ConfigMaps through for everyone); only ConfigMaps a policy names are credentials.
        for (String name : names) {
            if (name.startsWith(io.mesh.pilot.model.GatewayApiBackendTls.CONFIG_MAP) && name.endsWith(CA_SUFFIX)) {
                TlsCredential c = snapshot.credentials().get(name.substring(0, name.length() - CA_SUFFIX.length()));
                if (c != null && c.caCertificate() != null) {
                    out.add(caSecret(name, c));
                }
            }
        }
        if (proxy.type() != ProxyInfo.Type.ROUTER) {
            return out;
        }
        Set<String> allowed = new java.util.HashSet<>();
        GatewayScope.forProxy(proxy, snapshot).forEach(g -> g.servers().forEach(s -> {
            if (s.tls() != null) {
                // A kubernetes-gateway:// credential only from a Gateway API Gateway, whose translation checked the
                // reference (istiod serves it only as a verified certificate reference), never an Istio Gateway's.
                s.tls().credentials().stream().filter(c -> !c.startsWith(TlsCredential.KUBERNETES_GATEWAY)
                        || io.mesh.pilot.model.GatewayApiTranslation.translated(g)).forEach(allowed::add);
            }
        }));
        for (String name : names) {
            String credential = name.startsWith(PREFIX) ? name.substring(PREFIX.length())
                    : name.startsWith(TlsCredential.KUBERNETES_GATEWAY) ? name : null;
            if (credential == null) {
                continue;
            }
            boolean ca = credential.endsWith(CA_SUFFIX);
            String base = ca ? credential.substring(0, credential.length() - CA_SUFFIX.length()) : credential;
            TlsCredential c = snapshot.credentials().get(base);
            if (c == null || !allowed.contains(base)) {
                continue;
            }
            if (ca) {
                if (c.caCertificate() != null) {
                    out.add(caSecret(name, c));
                }
            } else {
                out.add(Secret.newBuilder().setName(name).setTlsCertificate(TlsCertificate.newBuilder()
                        .setCertificateChain(bytes(c.certificateChain())).setPrivateKey(bytes(c.privateKey())))
                        .build());
            }
        }
        return out;
    }

    private static Secret caSecret(String name, TlsCredential c) {
        return Secret.newBuilder().setName(name).setValidationContext(CertificateValidationContext.newBuilder()
                .setTrustedCa(bytes(c.caCertificate()))).build();
    }

    private static DataSource bytes(String pem) {
        return DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(pem, StandardCharsets.UTF_8)).build();
    }
}
