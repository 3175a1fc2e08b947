package io.mesh.config;

import java.time.Instant;
import java.util.List;

/**
 * A validated Kubernetes Gateway API {@code TLSRoute} or {@code TCPRoute} (gateway.networking.k8s.io v1alpha2), before
 * pilot binds it to Gateways: its parents and each rule's backends (the HTTPRoute's shapes, {@link KubernetesHttpRoute},
 * without filters). {@code hostnames}: a TLSRoute's SNI names (empty for any); always empty for a TCPRoute.
 *
 * @param kind {@link Kind#TLS_ROUTE} or {@link Kind#TCP_ROUTE}
 */
public record KubernetesL4Route(Kind kind, String namespace, String name,
        List<KubernetesHttpRoute.ParentRef> parentRefs, List<String> hostnames, List<Rule> rules, Instant created) {
    public KubernetesL4Route {
        parentRefs = List.copyOf(parentRefs);
        hostnames = List.copyOf(hostnames);
        rules = List.copyOf(rules);
    }

    /** One rule: its backends (weight 1 by default, 0 takes no connection). */
    public record Rule(String name, List<KubernetesHttpRoute.BackendRef> backendRefs) {
        public Rule {
            backendRefs = List.copyOf(backendRefs);
        }
    }
}
