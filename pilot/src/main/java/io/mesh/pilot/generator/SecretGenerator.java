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
 * VerifiedCertificateReferences). Only routers get secrets, and only ones a Gateway selecting them names. Workload
 * certificates ("default", "ROOTCA") come from citadel, not from here.
 */
public final class SecretGenerator {
    public static final String PREFIX = "kubernetes://";

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
            boolean ca = credential.endsWith("-cacert");
            String base = ca ? credential.substring(0, credential.length() - "-cacert".length()) : credential;
            TlsCredential c = snapshot.credentials().get(base);
            if (c == null || !allowed.contains(base)) {
                continue;
            }
            if (ca) {
                if (c.caCertificate() != null) {
                    out.add(Secret.newBuilder().setName(name).setValidationContext(CertificateValidationContext
                            .newBuilder().setTrustedCa(bytes(c.caCertificate()))).build());
                }
            } else {
                out.add(Secret.newBuilder().setName(name).setTlsCertificate(TlsCertificate.newBuilder()
                        .setCertificateChain(bytes(c.certificateChain())).setPrivateKey(bytes(c.privateKey())))
                        .build());
            }
        }
        return out;
    }

    private static DataSource bytes(String pem) {
        return DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(pem, StandardCharsets.UTF_8)).build();
    }
}
