package io.mesh.pilot.model;

import io.mesh.config.DestinationRule;
import io.mesh.config.ExportTo;
import io.mesh.config.Gateway;
import io.mesh.config.Hosts;
import io.mesh.config.PolicyConfig;
import io.mesh.config.VirtualService;
import java.util.List;
import java.util.Map;

/**
 * Everything the generators read, frozen for one push, with its indexes built up front. Immutable: every map and
 * list is an unmodifiable copy, so generators may run on any thread without locks.
 *
 * @param services          by FQDN hostname
 * @param endpoints         by FQDN hostname: config endpoints (ServiceEntry, WorkloadEntry) plus Kubernetes ones (the
 *                          pods ServiceEntries select, EndpointSlices)
 * @param configEndpoints   the config part alone, so the EDS fast path can swap only the Kubernetes part
 * @param meshRoutes        by FQDN host or wildcard ("*.example.com", "*"), the VirtualServices bound to the mesh
 *                          gateway that name it, in Istio's order; {@link #meshRoute} picks the one a proxy's namespace
 *                          uses for a service
 * @param destinationRules  by FQDN host, every DestinationRule for it; {@link #destinationRule} picks the one a proxy's
 *                          namespace applies
 * @param credentials       gateway certificates by credentialName (served over SDS to routers only)
 * @param mesh              mesh-wide settings (trust domain, default outbound traffic policy)
 * @param aliases           by target FQDN, the Kubernetes ExternalName Services that are other names for it
 * @param requestAuthentications every valid RequestAuthentication, by namespace then name
 * @param jwks              by jwksUri of those, the JWKS JSON the proxies get inlined: the last one pilot fetched, or one
 *                          that verifies no token while none has been ({@link JwksSource#rejecting})
 * @param podSelections     the ServiceEntries' workload selectors, which select pods: the EDS fast path recomputes
 *                          their endpoints from the new pods
 * @param podLocalities     by pod IP, the locality ("region/zone/subzone") the registry knows for the pod (its node's
 *                          topology labels, or its istio-locality label): where istiod takes a proxy's locality from
 * @param podNodes          by pod IP, the node the pod runs on: the node of a proxy in that pod whose xDS node sends no
 *                          {@code NODE_NAME} ({@code io.mesh.pilot.generator.ProxyLocality#node})
 * @param telemetries       every valid Telemetry, oldest first (then by name and namespace, istiod's order), which
 *                          {@code TelemetryPolicy} resolves per proxy
 */
public record MeshSnapshot(long version, Map<String, ServiceModel> services, Map<String, List<Endpoint>> endpoints,
        Map<String, List<Endpoint>> configEndpoints, Map<String, List<VirtualService>> meshRoutes,
        List<VirtualService> virtualServices, Map<String, List<DestinationRule>> destinationRules, List<Gateway> gateways,
        List<PolicyConfig.Sidecar> sidecars, List<PolicyConfig.PeerAuthentication> peerAuthentications,
        List<PolicyConfig.AuthorizationPolicy> authorizationPolicies, List<String> warnings,
        Map<String, TlsCredential> credentials, MeshSettings mesh, Map<String, List<ServiceAlias>> aliases,
        List<io.mesh.config.RequestAuthentication> requestAuthentications, Map<String, String> jwks,
        List<PodSelection> podSelections, Map<String, String> podLocalities,
        List<io.mesh.config.Telemetry> telemetries, Map<String, String> podNodes) {

    public static final MeshSnapshot EMPTY = new MeshSnapshot(0, Map.of(), Map.of(), Map.of(), Map.of(), List.of(),
            Map.of(), List.of(), List.of(), List.of(), List.of(), List.of(), Map.of(), MeshSettings.DEFAULT, Map.of(),
            List.of(), Map.of(), List.of(), Map.of(), List.of(), Map.of());

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
        aliases = aliases == null ? Map.of() : Map.copyOf(aliases);
        requestAuthentications = requestAuthentications == null ? List.of() : List.copyOf(requestAuthentications);
        jwks = jwks == null ? Map.of() : Map.copyOf(jwks);
        podSelections = podSelections == null ? List.of() : List.copyOf(podSelections);
        podLocalities = podLocalities == null ? Map.of() : Map.copyOf(podLocalities);
        telemetries = telemetries == null ? List.of() : List.copyOf(telemetries);
        podNodes = podNodes == null ? Map.of() : Map.copyOf(podNodes);
    }

    /** The ExternalName Services that are other names for {@code host} and that proxies in this namespace see. */
    public List<ServiceAlias> aliasesOf(String host, String proxyNamespace) {
        return aliases.getOrDefault(host, List.of()).stream().filter(a -> a.visibleTo(proxyNamespace)).toList();
    }

    /**
     * The VirtualService that routes the service {@code host} for sidecars and proxyless clients in
     * {@code proxyNamespace}: the first of {@link #meshHttpRoutes}. Null when none is.
     */
    public VirtualService meshRoute(String host, String proxyNamespace) {
        List<VirtualService> all = meshHttpRoutes(host, proxyNamespace);
        return all.isEmpty() ? null : all.get(0);
    }

    /**
     * The VirtualServices that may route the HTTP service {@code host} for sidecars in {@code proxyNamespace}, in the
     * order they are tried ({@link #meshL4Routes}), without the Gateway API's routes (gateway semantics) that are
     * neither in the proxy's namespace nor in the service's: istiod's buildSidecarVirtualHostsForVirtualService
     * ("Gateway allows only routes from the namespace of the proxy, or namespace of the destination"), so GAMMA's
     * consumer route (a route in another namespace than its Service's) routes only its own namespace's sidecars,
     * while a producer route (in the Service's namespace) routes every namespace's.
     */
    public List<VirtualService> meshHttpRoutes(String host, String proxyNamespace) {
        ServiceModel service = services.get(host);
        return meshL4Routes(host, proxyNamespace).stream().filter(vs -> !vs.gatewaySemantics()
                || vs.namespace().equals(proxyNamespace)
                || (service != null && service.namespace().equals(vs.namespace()))).toList();
    }

    /**
     * The VirtualServices that may route the service {@code host} for sidecars and proxyless clients in
     * {@code proxyNamespace}, in the order a sidecar tries them (istiod's most-specific-wildcard index and
     * SelectVirtualServices): of those exported to that namespace, the ones naming the host itself, else the ones
     * whose wildcard host takes it, the longest wildcard first ({@code *.api.example.com}, then {@code *.example.com},
     * then {@code *.com}). So the exact host beats a wildcard, and a narrower wildcard a wider one, whatever their
     * exportTo. Of several naming the same host: the ones private to the namespace first, then the ones exported to it
     * by name, then the public ones; within each, the Gateway API's routes (gateway semantics) of the proxy's own
     * namespace first (istiod's "consumer override"), then the oldest. A sidecar's TCP and TLS listeners take them in
     * that order without the namespace rule of {@link #meshHttpRoutes}, as istiod's do (its
     * buildSidecarOutboundTCPListenerOpts: "Do not filter namespace for now", istio/istio#46146).
     */
    public List<VirtualService> meshL4Routes(String host, String proxyNamespace) {
        List<VirtualService> all = meshRoutesFor(host, proxyNamespace);
        // The wildcards that take the host, most specific first: "*" + each suffix that starts at a dot. ("*" alone
        // is not among them: Istio's validation rejects it for the mesh gateway.)
        for (int dot = host.indexOf('.'); all.isEmpty() && dot >= 0; dot = host.indexOf('.', dot + 1)) {
            all = meshRoutesFor("*" + host.substring(dot), proxyNamespace);
        }
        return all;
    }

    /** The VirtualServices whose host is exactly {@code host} that the namespace sees, in Istio's order. */
    private List<VirtualService> meshRoutesFor(String host, String proxyNamespace) {
        return meshRoutes.getOrDefault(host, List.of()).stream()
                .filter(vs -> ExportTo.visible(vs.exportTo(), vs.namespace(), proxyNamespace))
                // A stable sort: the list is already in Istio's order (oldest first).
                .sorted(sidecarOrder(proxyNamespace)).toList();
    }

    /**
     * The order a sidecar in {@code proxyNamespace} takes VirtualServices in (istiod's SelectVirtualServices): private,
     * exported by name, public; within each, the Gateway API's routes of the proxy's own namespace first.
     */
    public static java.util.Comparator<VirtualService> sidecarOrder(String proxyNamespace) {
        return java.util.Comparator.comparing((VirtualService vs) -> ExportTo.scope(vs.exportTo(), vs.namespace(),
                proxyNamespace)).thenComparing(vs -> !(vs.gatewaySemantics() && vs.namespace().equals(proxyNamespace)));
    }

    /** As {@link #destinationRule(String, String, Map)} for a proxy whose labels select no rule's workloadSelector. */
    public DestinationRule destinationRule(String host, String proxyNamespace) {
        return destinationRule(host, proxyNamespace, null);
    }

    /**
     * The DestinationRule a proxy in {@code proxyNamespace} with {@code proxyLabels} applies to its outbound traffic
     * to {@code host}, looked up as Istio does. The namespaces in order: the proxy's own, the service's, the root
     * namespace; in each, only rules exported to the proxy's namespace, and of those the most specific host (Istio's
     * MostSpecificHostMatch: the service's own name, else the longest wildcard that takes it, such as
     * {@code *.example.com}, {@code *.local} or {@code *}). The first namespace with such a host decides: among its
     * rules for that host, one whose {@code workloadSelector} selects the proxy (same namespace, labels a subset of the
     * proxy's) wins, else the one without a selector, else none (as istiod's SidecarScope.DestinationRule: a rule
     * with a selector never applies across namespaces or to other workloads). Null when none applies.
     */
    public DestinationRule destinationRule(String host, String proxyNamespace, Map<String, String> proxyLabels) {
        if (destinationRules.isEmpty()) {
            return null;
        }
        ServiceModel service = services.get(host);
        for (String ns : new String[] {proxyNamespace, service == null ? null : service.namespace(),
                MeshSettings.ROOT_NAMESPACE}) {
            List<DestinationRule> rules = ns == null ? List.of() : mostSpecificRules(host, ns, proxyNamespace);
            if (!rules.isEmpty()) {
                DestinationRule catchAll = null;
                for (DestinationRule dr : rules) {
                    if (dr.selects(proxyNamespace, proxyLabels)) {
                        return dr;
                    }
                    if (dr.workloadSelector() == null && catchAll == null) {
                        catchAll = dr;
                    }
                }
                return catchAll;
            }
        }
        return null;
    }

    /** In one namespace, the rules exported to the proxy's namespace for the most specific host that takes {@code host}. */
    private List<DestinationRule> mostSpecificRules(String host, String namespace, String proxyNamespace) {
        List<DestinationRule> exact = rulesIn(destinationRules.get(host), namespace, proxyNamespace);
        if (!exact.isEmpty()) {
            return exact;
        }
        List<DestinationRule> best = List.of();
        int bestLength = -1;
        for (Map.Entry<String, List<DestinationRule>> e : destinationRules.entrySet()) {
            String pattern = e.getKey();
            if (pattern.startsWith("*") && pattern.length() > bestLength && Hosts.covers(pattern, host)) {
                List<DestinationRule> rules = rulesIn(e.getValue(), namespace, proxyNamespace);
                if (!rules.isEmpty()) {
                    best = rules;
                    bestLength = pattern.length();
                }
            }
        }
        return best;
    }

    private static List<DestinationRule> rulesIn(List<DestinationRule> rules, String namespace, String proxyNamespace) {
        if (rules == null) {
            return List.of();
        }
        return rules.stream().filter(dr -> dr.namespace().equals(namespace)
                && ExportTo.visible(dr.exportTo(), dr.namespace(), proxyNamespace)).toList();
    }

    /** The service of this hostname when proxies in {@code proxyNamespace} see it; else null. */
    public ServiceModel service(String host, String proxyNamespace) {
        ServiceModel s = services.get(host);
        return s != null && s.visibleTo(proxyNamespace) ? s : null;
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
                || !mesh.equals(next.mesh) || !aliases.equals(next.aliases)
                || !requestAuthentications.equals(next.requestAuthentications) || !jwks.equals(next.jwks)
                || !telemetries.equals(next.telemetries)) {
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

    /**
     * The hosts of ServiceEntries that select pods whose endpoints differ in {@code next}. An endpoints-only push
     * names them, so a sidecar that is one of those pods gets its inbound side too (as for an EndpointSlice's host).
     */
    public java.util.Set<String> podSelectedChanges(MeshSnapshot next) {
        java.util.Set<String> hosts = new java.util.TreeSet<>();
        for (List<PodSelection> selections : List.of(podSelections, next.podSelections)) {
            for (PodSelection s : selections) {
                for (String host : s.hosts()) {
                    if (!endpointsOf(host).equals(next.endpointsOf(host))) {
                        hosts.add(host);
                    }
                }
            }
        }
        return hosts;
    }

    /**
     * The EDS fast path: same config and services, new Kubernetes endpoints: the EndpointSlices' and the pods the
     * ServiceEntries' workload selectors select.
     */
    public MeshSnapshot withKubernetesEndpoints(long newVersion, ServiceSource.View kube) {
        return new MeshSnapshot(newVersion, services, SnapshotBuilder.endpoints(configEndpoints, podSelections, kube),
                configEndpoints, meshRoutes, virtualServices, destinationRules, gateways, sidecars,
                peerAuthentications, authorizationPolicies, warnings, credentials, mesh, aliases, requestAuthentications,
                jwks, podSelections, SnapshotBuilder.podLocalities(kube), telemetries, SnapshotBuilder.podNodes(kube));
    }
}
