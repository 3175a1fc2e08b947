package io.mesh.config;

import java.util.List;

/**
 * A validated Kubernetes Gateway API {@code ReferenceGrant} (gateway.networking.k8s.io v1beta1, or v1): objects of the
 * kinds and namespaces in {@code from} may refer to objects of the kinds in {@code to} in the grant's own
 * {@code namespace} (one by name, or all of a kind when {@code to} names none). Kinds this mesh does not read are kept:
 * they may be another controller's.
 */
public record KubernetesReferenceGrant(String namespace, String name, List<From> from, List<To> to) {
    public KubernetesReferenceGrant {
        from = List.copyOf(from);
        to = List.copyOf(to);
    }

    /** Who may refer: objects of {@code group} and {@code kind} in {@code namespace}. */
    public record From(String group, String kind, String namespace) {
    }

    /** What may be referred to: objects of {@code group} and {@code kind}, the one named {@code name} (null: any). */
    public record To(String group, String kind, String name) {
    }
}
