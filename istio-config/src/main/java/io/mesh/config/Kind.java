package io.mesh.config;

import java.util.Map;
import java.util.Optional;

/** The Istio kinds pilot understands, with the API groups and versions each is accepted in. */
public enum Kind {
    VIRTUAL_SERVICE("VirtualService", "networking.istio.io", "virtualservices"),
    DESTINATION_RULE("DestinationRule", "networking.istio.io", "destinationrules"),
    GATEWAY("Gateway", "networking.istio.io", "gateways"),
    SERVICE_ENTRY("ServiceEntry", "networking.istio.io", "serviceentries"),
    WORKLOAD_ENTRY("WorkloadEntry", "networking.istio.io", "workloadentries"),
    SIDECAR("Sidecar", "networking.istio.io", "sidecars"),
    PEER_AUTHENTICATION("PeerAuthentication", "security.istio.io", "peerauthentications"),
    AUTHORIZATION_POLICY("AuthorizationPolicy", "security.istio.io", "authorizationpolicies"),
    REQUEST_AUTHENTICATION("RequestAuthentication", "security.istio.io", "requestauthentications"),
    TELEMETRY("Telemetry", "telemetry.istio.io", "telemetries");

    private static final Map<String, java.util.List<String>> VERSIONS = Map.of(
            "networking.istio.io", java.util.List.of("v1", "v1beta1", "v1alpha3"),
            "security.istio.io", java.util.List.of("v1", "v1beta1"),
            "telemetry.istio.io", java.util.List.of("v1", "v1alpha1"));

    public final String kindName;
    public final String group;
    public final String plural;

    Kind(String kindName, String group, String plural) {
        this.kindName = kindName;
        this.group = group;
        this.plural = plural;
    }

    public java.util.List<String> versions() {
        return VERSIONS.get(group);
    }

    public static Optional<Kind> of(String kindName) {
        for (Kind k : values()) {
            if (k.kindName.equals(kindName)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }
}
