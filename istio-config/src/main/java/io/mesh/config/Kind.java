package io.mesh.config;

import java.util.Map;
import java.util.Optional;

/**
 * The kinds pilot understands, with the API groups and versions each is accepted in: Istio's, and the Kubernetes Gateway
 * API's Gateway, HTTPRoute, GRPCRoute, TLSRoute and TCPRoute (which pilot translates into Istio's Gateway and
 * VirtualService, as istiod does). Two kinds
 * share the name "Gateway": {@link #of(String, String)} tells them apart by group.
 */
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
    TELEMETRY("Telemetry", "telemetry.istio.io", "telemetries"),
    KUBERNETES_GATEWAY("Gateway", Kind.GATEWAY_API, "gateways"),
    HTTP_ROUTE("HTTPRoute", Kind.GATEWAY_API, "httproutes"),
    GRPC_ROUTE("GRPCRoute", Kind.GATEWAY_API, "grpcroutes"),
    TLS_ROUTE("TLSRoute", Kind.GATEWAY_API, "tlsroutes"),
    TCP_ROUTE("TCPRoute", Kind.GATEWAY_API, "tcproutes"),
    REFERENCE_GRANT("ReferenceGrant", Kind.GATEWAY_API, "referencegrants"),
    BACKEND_TLS_POLICY("BackendTLSPolicy", Kind.GATEWAY_API, "backendtlspolicies");

    /** The Kubernetes Gateway API's group. */
    public static final String GATEWAY_API = "gateway.networking.k8s.io";

    private static final Map<String, java.util.List<String>> VERSIONS = Map.of(
            "networking.istio.io", java.util.List.of("v1", "v1beta1", "v1alpha3"),
            "security.istio.io", java.util.List.of("v1", "v1beta1"),
            "telemetry.istio.io", java.util.List.of("v1", "v1alpha1"),
            GATEWAY_API, java.util.List.of("v1", "v1beta1"));

    public final String kindName;
    public final String group;
    public final String plural;

    Kind(String kindName, String group, String plural) {
        this.kindName = kindName;
        this.group = group;
        this.plural = plural;
    }

    public java.util.List<String> versions() {
        return switch (this) {
            // The Gateway API's experimental channel serves these at v1alpha2 only; GRPCRoute is v1 since v1.1.
            case TLS_ROUTE, TCP_ROUTE -> java.util.List.of("v1alpha2");
            case GRPC_ROUTE -> java.util.List.of("v1", "v1alpha2");
            // v1 since Gateway API v1.4; v1alpha3 in v1.1 to v1.3.
            case BACKEND_TLS_POLICY -> java.util.List.of("v1", "v1alpha3");
            default -> VERSIONS.get(group);
        };
    }

    /** The version pilot watches (and writes status at) on Kubernetes: the first of {@link #versions()}. */
    public String kubernetesVersion() {
        return versions().get(0);
    }

    /**
     * The versions pilot watches the kind at on Kubernetes, preferred first: {@link #kubernetesVersion}, and for
     * ReferenceGrant (v1beta1 in the Gateway API's releases that have no v1 of it) v1beta1, and for BackendTLSPolicy
     * (v1alpha3 before v1.4) v1alpha3, when the API server serves no v1.
     */
    public java.util.List<String> watchVersions() {
        return this == REFERENCE_GRANT ? java.util.List.of("v1", "v1beta1")
                : this == BACKEND_TLS_POLICY ? versions() : java.util.List.of(kubernetesVersion());
    }

    /** Whether this kind is one of the Kubernetes Gateway API's. */
    public boolean gatewayApi() {
        return group.equals(GATEWAY_API);
    }

    /** How the kind is named to people: "Gateway (gateway.networking.k8s.io)" for the Gateway API's Gateway. */
    public String displayName() {
        return this == KUBERNETES_GATEWAY ? kindName + " (" + group + ")" : kindName;
    }

    /**
     * The kind of a resource with this apiVersion and kind: the one of that name in the apiVersion's group, else the
     * first of that name (so that a wrong apiVersion is reported against the kind it was probably meant as).
     */
    public static Optional<Kind> of(String apiVersion, String kindName) {
        String group = apiVersion == null || apiVersion.indexOf('/') < 0 ? "" : apiVersion.substring(0,
                apiVersion.indexOf('/'));
        for (Kind k : values()) {
            if (k.kindName.equals(kindName) && k.group.equals(group)) {
                return Optional.of(k);
            }
        }
        return of(kindName);
    }

    /**
     * The kind name a {@link ConfigKey} carries: the kind itself for Istio's, "KIND.GROUP" for the Gateway API's, so
     * that an Istio Gateway and a Gateway API Gateway of the same name are different resources.
     */
    public static String keyName(String apiVersion, String kindName) {
        String group = apiVersion == null || apiVersion.indexOf('/') < 0 ? "" : apiVersion.substring(0,
                apiVersion.indexOf('/'));
        return group.equals(GATEWAY_API) ? kindName + "." + GATEWAY_API : kindName;
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
