package io.mesh.config;

import java.time.Instant;
import java.util.List;

/**
 * A validated Kubernetes Gateway API {@code BackendTLSPolicy} (gateway.networking.k8s.io v1, or v1alpha3 before Gateway
 * API v1.4): how proxies originate TLS to the Services it targets. Connections to a target use {@code hostname} as SNI
 * and verify the backend's certificate against the CA of {@code caCertificateRefs} (the first is used, as istiod's) or,
 * with {@code wellKnownCACertificates: System}, the proxy's system roots.
 *
 * @param caCertificateRefs the CA references as written (kind ConfigMap is the one served; another is kept, and the
 *                          policy's status says so, as istiod's)
 * @param subjectAltNames   the names the backend's certificate must carry: each a DNS name or a URI
 */
public record KubernetesBackendTlsPolicy(String namespace, String name, List<TargetRef> targetRefs,
        List<CaRef> caCertificateRefs, boolean systemCertificates, String hostname, List<String> subjectAltNames,
        Instant created) {
    public KubernetesBackendTlsPolicy {
        targetRefs = List.copyOf(targetRefs);
        caCertificateRefs = List.copyOf(caCertificateRefs);
        subjectAltNames = List.copyOf(subjectAltNames);
    }

    /** A target in the policy's namespace: {@code group} "" and kind Service are the ones served; a port by name, or null. */
    public record TargetRef(String group, String kind, String name, String sectionName) {
        public boolean service() {
            return group.isEmpty() && kind.equals("Service");
        }
    }

    /** A CA certificate object in the policy's namespace. */
    public record CaRef(String group, String kind, String name) {
        public boolean configMap() {
            return group.isEmpty() && kind.equals("ConfigMap");
        }
    }
}
