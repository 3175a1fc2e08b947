package io.mesh.pilot.generator;

import io.mesh.config.PolicyConfig;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.List;

/**
 * Which services a sidecar sees: those exported to its namespace, further limited when a Sidecar resource in its
 * namespace (selecting it, or with no selector) limits egress to "namespace/host" patterns ("*", "." for its own
 * namespace, "*.example.com").
 */
final class SidecarScope {
    private SidecarScope() {
    }

    static List<ServiceModel> visibleServices(ProxyInfo proxy, MeshSnapshot snapshot) {
        PolicyConfig.Sidecar scope = scope(proxy, snapshot);
        return snapshot.services().values().stream().filter(s -> s.visibleTo(proxy.namespace()))
                .filter(s -> scope == null || scope.egressHosts().isEmpty() || visible(scope, proxy, s)).toList();
    }

    /** The proxy's Sidecar resource's outboundTrafficPolicy.mode, else the mesh default. */
    static PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy(ProxyInfo proxy, MeshSnapshot snapshot) {
        PolicyConfig.Sidecar scope = scope(proxy, snapshot);
        return scope != null && scope.outboundTrafficPolicy() != null ? scope.outboundTrafficPolicy()
                : snapshot.mesh().outboundTrafficPolicy();
    }

    /** The Sidecar resource that applies: one selecting the proxy, else the namespace's one without a selector. */
    private static PolicyConfig.Sidecar scope(ProxyInfo proxy, MeshSnapshot snapshot) {
        PolicyConfig.Sidecar scope = null;
        for (PolicyConfig.Sidecar s : snapshot.sidecars()) {
            if (!s.namespace().equals(proxy.namespace())) {
                continue;
            }
            boolean selects = !s.workloadSelector().isEmpty() && s.workloadSelector().entrySet().stream()
                    .allMatch(e -> e.getValue().equals(proxy.labels().get(e.getKey())));
            if (selects || (scope == null && s.workloadSelector().isEmpty())) {
                scope = s;
            }
        }
        return scope;
    }

    private static boolean visible(PolicyConfig.Sidecar sc, ProxyInfo proxy, ServiceModel s) {
        for (String entry : sc.egressHosts()) {
            int slash = entry.indexOf('/');
            String ns = entry.substring(0, slash);
            String host = entry.substring(slash + 1);
            boolean nsOk = ns.equals("*") || (ns.equals(".") ? proxy.namespace() : ns).equals(s.namespace());
            boolean hostOk = host.equals("*") || host.equals(s.hostname())
                    || (host.startsWith("*.") && s.hostname().endsWith(host.substring(1)));
            if (nsOk && hostOk) {
                return true;
            }
        }
        return false;
    }
}
