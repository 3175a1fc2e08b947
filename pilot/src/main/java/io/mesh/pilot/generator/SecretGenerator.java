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
 * each of its credentialNames), "kubernetes://NAME-cacert" its CA for client certificates (MUTUAL). Only routers get secrets, and only ones a
 * Gateway selecting them names. Workload certificates ("default", "ROOTCA") come from citadel, not from here.
 */
public final class SecretGenerator {
    public static final String PREFIX = "kubernetes://";

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
                allowed.addAll(s.tls().credentials());
            }
        }));
        for (String name : names) {
            if (!name.startsWith(PREFIX)) {
                continue;
            }
            String credential = name.substring(PREFIX.length());
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
