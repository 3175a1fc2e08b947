package io.mesh.pilot.model;

import io.mesh.config.ConfigKey;
import io.mesh.config.DestinationRule;
import io.mesh.config.ExportTo;
import io.mesh.config.Gateway;
import io.mesh.config.Hosts;
import io.mesh.config.PolicyConfig;
import io.mesh.config.ServiceEntry;
import io.mesh.config.VirtualService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Builds a {@link MeshSnapshot} from the config in force and the service registries. Pure. */
public final class SnapshotBuilder {
    private SnapshotBuilder() {
    }

    public static MeshSnapshot build(long version, Map<ConfigKey, Object> config, ServiceSource.View kube) {
        return build(version, config, kube, Map.of());
    }

    public static MeshSnapshot build(long version, Map<ConfigKey, Object> config, ServiceSource.View kube,
            Map<String, TlsCredential> credentials) {
        return build(version, config, kube, credentials, MeshSettings.DEFAULT);
    }

    public static MeshSnapshot build(long version, Map<ConfigKey, Object> config, ServiceSource.View kube,
            Map<String, TlsCredential> credentials, MeshSettings mesh) {
        return build(version, config, kube, credentials, mesh, JwksSource.NONE);
    }

    /** @param jwks where the JWKS of RequestAuthentications' jwksUri come from (asked only for those in config) */
    public static MeshSnapshot build(long version, Map<ConfigKey, Object> config, ServiceSource.View kube,
            Map<String, TlsCredential> credentials, MeshSettings mesh, JwksSource jwks) {
        Map<String, ServiceModel> services = new TreeMap<>();
        Map<String, List<Endpoint>> configEndpoints = new TreeMap<>();
        List<VirtualService> virtualServices = new ArrayList<>();
        Map<String, List<DestinationRule>> rules = new TreeMap<>();
        List<Gateway> gateways = new ArrayList<>();
        List<PolicyConfig.Sidecar> sidecars = new ArrayList<>();
        List<PolicyConfig.PeerAuthentication> peers = new ArrayList<>();
        List<PolicyConfig.AuthorizationPolicy> authz = new ArrayList<>();
        List<io.mesh.config.RequestAuthentication> requestAuthns = new ArrayList<>();
        List<io.mesh.config.Telemetry> telemetries = new ArrayList<>();
        Map<ConfigKey, ServiceEntry.WorkloadSpec> workloadEntries = new LinkedHashMap<>();
        List<ServiceEntry> serviceEntries = new ArrayList<>();
        List<String> warnings = new ArrayList<>();

        for (ServiceModel s : kube.services()) {
            services.put(s.hostname(), s);
        }
        config.forEach((key, model) -> {
            if (model instanceof ServiceEntry se) {
                serviceEntries.add(se);
            } else if (model instanceof ServiceEntry.WorkloadSpec we) {
                workloadEntries.put(key, we);
            } else if (model instanceof VirtualService vs) {
                virtualServices.add(vs);
            } else if (model instanceof DestinationRule dr) {
                rules.computeIfAbsent(Hosts.resolve(dr.host(), dr.namespace()), h -> new ArrayList<>()).add(dr);
            } else if (model instanceof Gateway g) {
                gateways.add(g);
            } else if (model instanceof PolicyConfig.Sidecar s) {
                sidecars.add(s);
            } else if (model instanceof PolicyConfig.PeerAuthentication pa) {
                peers.add(pa);
            } else if (model instanceof PolicyConfig.AuthorizationPolicy ap) {
                authz.add(ap);
            } else if (model instanceof io.mesh.config.RequestAuthentication ra) {
                requestAuthns.add(ra);
            } else if (model instanceof io.mesh.config.Telemetry t) {
                telemetries.add(t);
            }
        });
        for (ServiceEntry se : serviceEntries) {
            List<ServiceModel.Port> ports = se.ports().stream()
                    .map(p -> new ServiceModel.Port(p.name(), p.number(), p.protocol(), p.targetPort())).toList();
            List<Endpoint> eps = new ArrayList<>();
            for (ServiceEntry.WorkloadSpec w : se.endpoints()) {
                eps.add(endpoint(w, se));
            }
            if (se.workloadSelector() != null) {
                workloadEntries.forEach((key, w) -> {
                    // An unhealthy WorkloadEntry is none (istiod handles it as deleted).
                    if (w.healthy() && key.namespace().equals(se.namespace()) && !se.workloadSelector().isEmpty()
                            && se.workloadSelector().entrySet().stream()
                                    .allMatch(e -> e.getValue().equals(w.labels().get(e.getKey())))) {
                        eps.add(endpoint(w, se));
                    }
                });
            }
            for (String host : se.hosts()) {
                String fqdn = Hosts.resolve(host, se.namespace());
                services.putIfAbsent(fqdn, new ServiceModel(fqdn, se.namespace(), ports,
                        "MESH_EXTERNAL".equals(se.location()), "ServiceEntry/" + se.namespace() + "/" + se.name(),
                        vips(se.addresses()), se.exportTo(), "NONE".equals(se.resolution()), cidrs(se.addresses()),
                        se.workloadSelector() != null && !se.workloadSelector().isEmpty(),
                        PersistentSession.fromLabels(se.labels()), se.trafficDistribution()));
                configEndpoints.computeIfAbsent(fqdn, h -> new ArrayList<>()).addAll(eps);
            }
        }
        // The Gateway API's Gateways and routes, as the Istio Gateways and VirtualServices istiod makes of them.
        GatewayApiTranslation gatewayApi = GatewayApiTranslation.translate(GatewayApiTranslation.Input.of(
                config.values(), services.keySet(), kube.selectors(), serviceEntries, credentials.keySet(),
                kube.namespaces()));
        gateways.addAll(gatewayApi.gateways());
        virtualServices.addAll(gatewayApi.virtualServices());
        warnings.addAll(gatewayApi.warnings());
        // BackendTLSPolicies, as the DestinationRules istiod makes of them.
        List<io.mesh.config.KubernetesBackendTlsPolicy> backendTls = config.values().stream()
                .filter(io.mesh.config.KubernetesBackendTlsPolicy.class::isInstance)
                .map(io.mesh.config.KubernetesBackendTlsPolicy.class::cast).toList();
        if (!backendTls.isEmpty()) {
            GatewayApiBackendTls.Result btls = GatewayApiBackendTls.translate(backendTls, services, credentials,
                    GatewayApiBackendTls.gatewaysByHost(gatewayApi.virtualServices()));
            btls.rules().forEach(dr -> GatewayApiBackendTls.addTo(rules.computeIfAbsent(dr.host(),
                    h -> new ArrayList<>()), dr, warnings));
            btls.statuses().forEach(s -> s.ancestors().stream()
                    .filter(a -> a.controller().equals(GatewayApiBackendTls.MESH_CONTROLLER)).forEach(a -> a.conditions().stream()
                    .filter(c -> c.status().equals("False")).findFirst().ifPresent(c -> warnings.add(
                            "BackendTLSPolicy " + s.namespace() + "/" + s.name() + " for " + a.kind() + " "
                                    + a.namespace() + "/" + a.name() + ": " + c.message()))));
        }
        // Istio's order (oldest first, then name, then namespace): the order routes of VirtualServices merged on a
        // gateway follow, and which one a sidecar uses for a host that several claim.
        virtualServices.sort(VirtualService.ISTIO_ORDER);
        // Roots' delegating routes become their delegates' routes (Istio's VirtualService delegation).
        List<VirtualService> routed = io.mesh.config.Delegation.expand(virtualServices, warnings);
        Map<String, List<VirtualService>> meshRoutes = new TreeMap<>();
        for (VirtualService vs : routed) {
            if (vs.gateways().isEmpty() || vs.gateways().contains("mesh")) {
                for (String host : vs.hosts()) {
                    // As in Istio, VirtualServices are merged only on gateways: a sidecar uses one VirtualService
                    // per host (MeshSnapshot.meshRoute). Two that its namespace sees with the same preference
                    // (both public, say) conflict: the older one wins, with a warning (istioctl analyze's IST0109).
                    List<VirtualService> claims = meshRoutes.computeIfAbsent(Hosts.resolve(host, vs.namespace()),
                            h -> new ArrayList<>());
                    if (claims.contains(vs)) {
                        continue;   // the same host written twice ("web" and its FQDN)
                    }
                    for (VirtualService first : claims) {
                        // The Gateway API's (GAMMA) routes for one host are VirtualServices of their own per
                        // namespace and port, which sidecars take by namespace and port (MeshSnapshot.meshHttpRoutes).
                        if (first.gatewaySemantics() && vs.gatewaySemantics()) {
                            continue;
                        }
                        if (ExportTo.sameScope(first.exportTo(), first.namespace(), vs.exportTo(), vs.namespace())) {
                            warnings.add("VirtualService " + vs.namespace() + "/" + vs.name() + ": host \"" + host
                                    + "\" is already routed by VirtualService " + first.namespace() + "/" + first.name()
                                    + " (older, or first by name) for the same namespaces, so their sidecars leave this"
                                    + " one out for that host; Istio merges VirtualServices for the same host only on"
                                    + " gateways (IST0109)");
                            break;
                        }
                    }
                    claims.add(vs);
                }
            }
            for (VirtualService.HttpRoute r : vs.http()) {
                for (VirtualService.RouteDestination d : r.route()) {
                    String host = Hosts.resolve(d.destination().host(), vs.namespace());
                    if (!services.containsKey(host)) {
                        warnings.add("VirtualService " + vs.namespace() + "/" + vs.name() + ": destination host \""
                                + d.destination().host() + "\" is not a known service");
                    }
                }
            }
        }
        Map<String, List<Endpoint>> frozen = freeze(configEndpoints);
        List<PodSelection> podSelections = PodSelection.of(serviceEntries);
        warnings.addAll(mesh.extAuthzProviders().unusable(authz, services));
        return new MeshSnapshot(version, services, endpoints(frozen, podSelections, kube), frozen,
                freeze(meshRoutes), routed, freeze(rules), gateways, sidecars, peers, authz, warnings, credentials, mesh,
                aliases(kube.aliases(), services, warnings), requestAuthns, jwks(requestAuthns, jwks, warnings),
                podSelections, podLocalities(kube),
                telemetries.stream().sorted(io.mesh.config.Telemetry.ISTIO_ORDER).toList(), podNodes(kube));
    }

    /** By pod IP, the nodes the pods run on (where a proxy that sends no NODE_NAME runs). */
    static Map<String, String> podNodes(ServiceSource.View kube) {
        Map<String, String> out = new java.util.HashMap<>();
        for (ServiceSource.Workload w : kube.workloads()) {
            if (!w.node().isEmpty()) {
                out.putIfAbsent(w.ip(), w.node());
            }
        }
        return out;
    }

    /** By pod IP, the pods' known localities (istiod's proxy locality for a proxy in that pod). */
    static Map<String, String> podLocalities(ServiceSource.View kube) {
        Map<String, String> out = new java.util.HashMap<>();
        for (ServiceSource.Workload w : kube.workloads()) {
            if (!w.locality().isEmpty()) {
                out.putIfAbsent(w.ip(), w.locality());
            }
        }
        return out;
    }

    /**
     * Every endpoint by host: the config ones (ServiceEntry endpoints, selected WorkloadEntries), then the pods the
     * ServiceEntries' workload selectors select, then the Kubernetes Services' (EndpointSlices).
     */
    static Map<String, List<Endpoint>> endpoints(Map<String, List<Endpoint>> config, List<PodSelection> podSelections,
            ServiceSource.View kube) {
        Map<String, List<Endpoint>> pods = PodSelection.endpoints(podSelections, kube.workloads());
        return mergeEndpoints(pods.isEmpty() ? config : mergeEndpoints(config, pods), kube.endpoints());
    }

    /** Every jwksUri the RequestAuthentications among {@code config} use, with its rule's fetch timeout. */
    public static Map<String, java.time.Duration> jwksUris(java.util.Collection<?> config) {
        Map<String, java.time.Duration> out = new TreeMap<>();
        for (Object model : config) {
            if (model instanceof io.mesh.config.RequestAuthentication ra) {
                for (io.mesh.config.RequestAuthentication.JwtRule rule : ra.jwtRules()) {
                    if (rule.keysUri() != null) {
                        out.putIfAbsent(rule.keysUri(), rule.timeout() == null ? JwksSource.DEFAULT_TIMEOUT
                                : rule.timeout());
                    }
                }
            }
        }
        return out;
    }

    /**
     * The JWKS of every jwksUri in use: what {@code source} last fetched, else one that verifies no token (istiod's
     * fallback, so a token is rejected rather than accepted unverified), with a warning naming the policy.
     */
    private static Map<String, String> jwks(List<io.mesh.config.RequestAuthentication> policies, JwksSource source,
            List<String> warnings) {
        Map<String, String> out = new TreeMap<>();
        for (io.mesh.config.RequestAuthentication ra : policies) {
            for (io.mesh.config.RequestAuthentication.JwtRule rule : ra.jwtRules()) {
                String uri = rule.keysUri();
                if (uri == null || out.containsKey(uri)) {
                    continue;
                }
                JwksSource.Keys keys = source.keys(uri, rule.timeout() == null ? JwksSource.DEFAULT_TIMEOUT : rule.timeout());
                if (keys.jwks() == null) {
                    warnings.add("RequestAuthentication " + ra.namespace() + "/" + ra.name() + ": no JWKS fetched yet"
                            + " from " + uri + (keys.problem() == null ? "" : " (" + keys.problem() + ")")
                            + "; tokens of issuer " + rule.issuer() + " are rejected until one is");
                    out.put(uri, JwksSource.rejecting(uri));
                } else {
                    out.put(uri, keys.jwks());
                }
            }
        }
        return out;
    }

    /**
     * ExternalName Services by the host they name, sorted by their own name. One whose name is also a ServiceEntry's
     * host is left out (the ServiceEntry's virtual host already answers that name; two would be a duplicate domain).
     */
    private static Map<String, List<ServiceAlias>> aliases(List<ServiceAlias> aliases, Map<String, ServiceModel> services,
            List<String> warnings) {
        Map<String, List<ServiceAlias>> out = new TreeMap<>();
        for (ServiceAlias a : aliases) {
            if (services.containsKey(a.hostname())) {
                warnings.add("ExternalName Service " + a.namespace() + "/" + a.hostname().split("\\.")[0]
                        + ": its name is also a ServiceEntry host, which takes it; it is no alias of " + a.target());
                continue;
            }
            out.computeIfAbsent(a.target(), t -> new ArrayList<>()).add(a);
        }
        out.values().forEach(l -> l.sort(java.util.Comparator.comparing(ServiceAlias::hostname)));
        return freeze(out);
    }

    /**
     * A ServiceEntry's addresses as VIPs: an IP as is, a single-address CIDR ("/32", "/128") as its IP (istiod gives
     * those a listener of their own too). Wider CIDR blocks are {@link #cidrs}.
     */
    static List<String> vips(List<String> addresses) {
        List<String> out = new ArrayList<>();
        for (String a : addresses) {
            int slash = a.indexOf('/');
            if (slash < 0) {
                out.add(a);
            } else if (a.substring(slash + 1).equals(a.contains(":") ? "128" : "32")) {
                out.add(a.substring(0, slash));
            }
        }
        return out.stream().distinct().toList();
    }

    /**
     * A ServiceEntry's CIDR blocks wider than one address, as written: sidecars match a connection's destination
     * against them (istiod's filter_chain_match prefix_ranges on the port's 0.0.0.0 listener).
     */
    static List<String> cidrs(List<String> addresses) {
        return addresses.stream().filter(a -> a.indexOf('/') >= 0 && !vips(List.of(a)).contains(a.substring(0, a.indexOf('/'))))
                .distinct().toList();
    }

    private static Endpoint endpoint(ServiceEntry.WorkloadSpec w, ServiceEntry se) {
        Map<Integer, Integer> ports = new HashMap<>();
        for (ServiceEntry.Port p : se.ports()) {
            Integer target = w.ports().get(p.name());
            ports.put(p.number(), target != null ? target : p.targetPort() != null ? p.targetPort() : p.number());
        }
        return new Endpoint(w.address(), ports, w.labels(), w.locality(), w.weight(), w.serviceAccount());
    }

    static Map<String, List<Endpoint>> mergeEndpoints(Map<String, List<Endpoint>> config,
            Map<String, List<Endpoint>> kube) {
        Map<String, List<Endpoint>> out = new HashMap<>(config);
        kube.forEach((host, eps) -> out.merge(host, eps, (a, b) -> {
            List<Endpoint> all = new ArrayList<>(a);
            all.addAll(b);
            return List.copyOf(all);
        }));
        return out;
    }

    private static <T> Map<String, List<T>> freeze(Map<String, List<T>> m) {
        Map<String, List<T>> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return out;
    }
}
