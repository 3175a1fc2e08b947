package io.mesh.pilot.registry;

import io.mesh.config.KubernetesBackendTlsPolicy;
import io.mesh.pilot.model.GatewayApiBackendTls;
import io.mesh.pilot.model.TlsCredential;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The CA ConfigMaps that BackendTLSPolicies in force name (their first ConfigMap {@code caCertificateRefs}, in the
 * policy's namespace), as credentials {@code configmap://NS/NAME} whose CA is the ConfigMap's {@code ca.crt}; from the
 * cluster's ConfigMaps in Kubernetes mode, from the config folder's ConfigMap documents in local mode. A ConfigMap
 * that exists without {@code ca.crt} is a credential without CA (the policy's status says so); one that does not exist
 * is none.
 */
public final class BackendTlsConfigMaps {
    private BackendTlsConfigMaps() {
    }

    /**
     * @param data a ConfigMap's data by (namespace, name), or null when there is none
     */
    public static Map<String, TlsCredential> referenced(Collection<?> config,
            BiFunction<String, String, Map<String, String>> data) {
        Map<String, TlsCredential> out = new HashMap<>();
        for (Object model : config) {
            if (model instanceof KubernetesBackendTlsPolicy p && !p.caCertificateRefs().isEmpty()
                    && p.caCertificateRefs().get(0).configMap()) {
                String name = p.caCertificateRefs().get(0).name();
                Map<String, String> d = data.apply(p.namespace(), name);
                if (d != null) {
                    String credential = GatewayApiBackendTls.configMapCredential(p.namespace(), name);
                    out.put(credential, new TlsCredential(credential, null, null, d.get("ca.crt")));
                }
            }
        }
        return out;
    }

    /** Whether a BackendTLSPolicy in force names ConfigMap {@code name} of {@code namespace} as its CA. */
    public static boolean names(Collection<?> config, String namespace, String name) {
        return !referenced(config, (ns, n) -> ns.equals(namespace) && n.equals(name) ? Map.of() : null).isEmpty();
    }
}
