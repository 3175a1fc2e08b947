package io.mesh.pilot.model;

import io.mesh.config.DestinationRule;
import io.mesh.config.PolicyConfig;

/**
 * Mesh-wide settings the generators read (Istio's MeshConfig subset): the SPIFFE trust domain of workload
 * identities, the default outbound traffic policy (a proxy's Sidecar resource may override it), and the mesh-wide
 * {@code localityLbSetting} (a DestinationRule's own replaces it; Istio's default: enabled, failover by proximity).
 */
public record MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy,
        DestinationRule.LocalityLbSetting localityLbSetting) {
    /**
     * Istio's root namespace (MeshConfig rootNamespace, default istio-system): its PeerAuthentications and
     * AuthorizationPolicies apply mesh-wide, and its DestinationRules apply to services without one of their own.
     */
    public static final String ROOT_NAMESPACE = "istio-system";
    public static final MeshSettings DEFAULT = new MeshSettings("cluster.local",
            PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY);

    public MeshSettings {
        trustDomain = trustDomain == null || trustDomain.isBlank() ? "cluster.local" : trustDomain;
        outboundTrafficPolicy = outboundTrafficPolicy == null ? PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY
                : outboundTrafficPolicy;
        localityLbSetting = localityLbSetting == null ? DestinationRule.LocalityLbSetting.ENABLED : localityLbSetting;
    }

    /** With Istio's default mesh-wide locality load balancing (enabled). */
    public MeshSettings(String trustDomain, PolicyConfig.OutboundTrafficPolicy outboundTrafficPolicy) {
        this(trustDomain, outboundTrafficPolicy, null);
    }

    /** The SPIFFE ID of a service account: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<account>}. */
    public String spiffeId(String namespace, String serviceAccount) {
        return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    }
}
