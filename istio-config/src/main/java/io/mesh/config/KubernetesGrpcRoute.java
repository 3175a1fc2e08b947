package io.mesh.config;

import java.time.Instant;
import java.util.List;

/**
 * A validated Kubernetes Gateway API {@code GRPCRoute} (gateway.networking.k8s.io v1), before pilot binds it to
 * Gateways. Its parents, filters and backends have the HTTPRoute's shapes ({@link KubernetesHttpRoute}); its matches
 * are a gRPC method (service and method) and headers. {@code hostnames}: empty for any host.
 */
public record KubernetesGrpcRoute(String namespace, String name, List<KubernetesHttpRoute.ParentRef> parentRefs,
        List<String> hostnames, List<Rule> rules, Instant created) {
    public KubernetesGrpcRoute {
        parentRefs = List.copyOf(parentRefs);
        hostnames = List.copyOf(hostnames);
        rules = List.copyOf(rules);
    }

    /** {@code filters}: RequestHeaderModifier, ResponseHeaderModifier and RequestMirror only. */
    public record Rule(String name, List<Match> matches, List<KubernetesHttpRoute.Filter> filters,
            List<KubernetesHttpRoute.BackendRef> backendRefs) {
        public Rule {
            matches = List.copyOf(matches);
            filters = List.copyOf(filters);
            backendRefs = List.copyOf(backendRefs);
        }
    }

    /** {@code method}: null for any method. */
    public record Match(MethodMatch method, List<KubernetesHttpRoute.ValueMatch> headers) {
        public Match {
            headers = List.copyOf(headers);
        }
    }

    /** {@code type} Exact or RegularExpression; {@code service} and {@code method} null for any (not both). */
    public record MethodMatch(String type, String service, String method) {
    }
}
