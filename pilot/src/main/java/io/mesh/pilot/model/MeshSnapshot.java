package io.mesh.pilot.model;

import io.mesh.config.DestinationRule;
import io.mesh.config.Gateway;
import io.mesh.config.PolicyConfig;
import io.mesh.config.VirtualService;
import java.util.List;
import java.util.Map;

/**
 * Everything the generators read, frozen for one push, with its indexes built up front. Immutable: every map and
 * list is an unmodifiable copy, so generators may run on any thread without locks.
 *
 * @param services          by FQDN hostname
 * @param endpoints         by FQDN hostname: config endpoints (ServiceEntry, WorkloadEntry) plus Kubernetes ones
 * @param configEndpoints   the config part alone, so the EDS fast path can swap only the Kubernetes part
 * @param meshRoutes        the VirtualService bound to the mesh gateway that routes each FQDN host (the oldest, as in
 *                          Istio; a list of one)
 * @param destinationRules  by FQDN host
 * @param credentials       gateway certificates by credentialName (served over SDS to routers only)
 * @param mesh              mesh-wide settings (trust domain, default outbound traffic policy)
 */
public record MeshSnapshot(long version, Map<String, ServiceModel> services, Map<String, List<Endpoint>> endpoints,
        Map<String, List<Endpoint>> configEndpoints, Map<String, List<VirtualService>> meshRoutes,
        List<VirtualService> virtualServices, Map<String, DestinationRule> destinationRules, List<Gateway> gateways,
        List<PolicyConfig.Sidecar> sidecars, List<PolicyConfig.PeerAuthentication> peerAuthentications,
        List<PolicyConfig.AuthorizationPolicy> authorizationPolicies, List<String> warnings,
        Map<String, TlsCredential> credentials, MeshSettings mesh) {

    public static final MeshSnapshot EMPTY = new MeshSnapshot(0, Map.of(), Map.of(), Map.of(), Map.of(), List.of(),
            Map.of(), List.of(), List.of(), List.of(), List.of(), List.of(), Map.of(), MeshSettings.DEFAULT);

    public MeshSnapshot {
        services = Map.copyOf(services);
        endpoints = Map.copyOf(endpoints);
        configEndpoints = Map.copyOf(configEndpoints);
        meshRoutes = Map.copyOf(meshRoutes);
        virtualServices = List.copyOf(virtualServices);
        destinationRules = Map.copyOf(destinationRules);
        gateways = List.copyOf(gateways);
        sidecars = List.copyOf(sidecars);
        peerAuthentications = List.copyOf(peerAuthentications);
        authorizationPolicies = List.copyOf(authorizationPolicies);
        warnings = List.copyOf(warnings);
        credentials = Map.copyOf(credentials);
        mesh = mesh == null ? MeshSettings.DEFAULT : mesh;
    }

    public List<Endpoint> endpointsOf(String host) {
        return endpoints.getOrDefault(host, List.of());
    }

    /**
     * When {@code next} differs from this snapshot in endpoints only (same services, routes, rules, gateways,
     * policies and credentials), the hosts whose endpoints differ: the push then needs new EDS only. Null when
     * anything else differs. In local mode an endpoint change is a ServiceEntry edit, so this is how its push
     * takes the EDS fast path.
     */
    public java.util.Set<String> endpointOnlyChanges(MeshSnapshot next) {
        if (!services.equals(next.services) || !meshRoutes.equals(next.meshRoutes)
                || !virtualServices.equals(next.virtualServices) || !destinationRules.equals(next.destinationRules)
                || !gateways.equals(next.gateways) || !sidecars.equals(next.sidecars)
                || !peerAuthentications.equals(next.peerAuthentications)
                || !authorizationPolicies.equals(next.authorizationPolicies) || !credentials.equals(next.credentials)
                || !mesh.equals(next.mesh)) {
            return null;
        }
        java.util.Set<String> hosts = new java.util.TreeSet<>();
        endpoints.forEach((host, eps) -> {
            if (!eps.equals(next.endpoints.get(host))) {
                hosts.add(host);
            }
        });
        next.endpoints.keySet().forEach(host -> {
            if (!endpoints.containsKey(host)) {
                hosts.add(host);
            }
        });
        return hosts;
    }

    /** The EDS fast path: same config and services, new Kubernetes endpoints. */
    public MeshSnapshot withKubernetesEndpoints(long newVersion, Map<String, List<Endpoint>> kube) {
        return new MeshSnapshot(newVersion, services, SnapshotBuilder.mergeEndpoints(configEndpoints, kube),
                configEndpoints, meshRoutes, virtualServices, destinationRules, gateways, sidecars,
                peerAuthentications, authorizationPolicies, warnings, credentials, mesh);
    }
}
