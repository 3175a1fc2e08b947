package io.mesh.pilot.model;

import io.mesh.config.ExportTo;
import java.util.List;

/**
 * A Kubernetes {@code ExternalName} Service, as Istio treats one (its default since 1.20, ENABLE_EXTERNAL_NAME_ALIAS):
 * not a service of its own but another name for the service it points at. Wherever a proxy matches
 * {@code Host: <target>} it also matches {@code Host: <alias>}. Its ports do not matter, and it gets no cluster or
 * listener: a TCP connection to it already reaches the target's address through the DNS CNAME.
 *
 * @param hostname the ExternalName Service's FQDN ({@code db.demo.svc.cluster.local})
 * @param target   {@code spec.externalName}, lower case, without a trailing dot
 * @param exportTo the Service's {@code networking.istio.io/exportTo} annotation; empty: all namespaces
 */
public record ServiceAlias(String hostname, String namespace, String target, List<String> exportTo) {
    public ServiceAlias {
        exportTo = exportTo == null ? List.of() : List.copyOf(exportTo);
    }

    /** Whether proxies in this namespace see the alias. */
    public boolean visibleTo(String proxyNamespace) {
        return ExportTo.visible(exportTo, namespace, proxyNamespace);
    }
}
