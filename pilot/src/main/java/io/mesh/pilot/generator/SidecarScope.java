package io.mesh.pilot.generator;

import io.mesh.config.ExportTo;
import io.mesh.config.Hosts;
import io.mesh.config.PolicyConfig;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which services a sidecar sees: those exported to its namespace, further limited when a Sidecar resource in its
 * namespace (selecting it, or with no selector) limits egress to "namespace/host" patterns ("*", "." for its own
 * namespace, "*.example.com"). The same resource picks the mesh VirtualServices it imports ({@link #virtualServices}),
 * whose destinations it also gets clusters for ({@link #services}).
 */
final class SidecarScope {
    private SidecarScope() {
    }

    static List<ServiceModel> visibleServices(ProxyInfo proxy, MeshSnapshot snapshot) {
        PolicyConfig.Sidecar scope = scope(proxy, snapshot);
        return snapshot.services().values().stream().filter(s -> s.visibleTo(proxy.namespace()))
                .filter(s -> scope == null || scope.egressHosts().isEmpty() || visible(scope, proxy, s)).toList();
    }

    /**
     * The services a sidecar gets clusters and endpoints for (istiod's SidecarScope.Services()): those its egress
     * sees ({@link #visibleServices}; they alone get listeners and virtual hosts), then the destinations of the
     * VirtualServices it imports ({@link #virtualServices}) that are not among them, each with only the ports its
     * destinations name ({@link VirtualServiceDestinations}). So a Sidecar resource with egress {@code ./*} whose
     * VirtualService routes to another namespace's service still has that service's cluster.
     */
    static List<ServiceModel> services(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<ServiceModel> visible = visibleServices(proxy, snapshot);
        Set<String> explicit = new HashSet<>();
        visible.forEach(s -> explicit.add(s.hostname()));
        Map<String, ServiceModel> inferred = new LinkedHashMap<>();
        for (VirtualService vs : virtualServices(proxy, snapshot)) {
            VirtualServiceDestinations.of(vs, proxy.namespace()).forEach((host, ports) -> {
                if (explicit.contains(host)) {
                    return;   // istiod merges the ports in: the service already has them all
                }
                ServiceModel s = VirtualServiceDestinations.service(host, proxy.namespace(), snapshot);
                ServiceModel named = s == null ? null : VirtualServiceDestinations.withPorts(s, ports);
                if (named != null) {
                    inferred.merge(host, named, SidecarScope::mergePorts);
                }
            });
        }
        if (inferred.isEmpty()) {
            return visible;
        }
        List<ServiceModel> out = new ArrayList<>(visible);
        out.addAll(inferred.values());
        return out;
    }

    /** One service named by two VirtualServices: the first one's ports, then the second one's others (istiod's order). */
    private static ServiceModel mergePorts(ServiceModel a, ServiceModel b) {
        List<ServiceModel.Port> ports = new ArrayList<>(a.ports());
        b.ports().stream().filter(p -> a.port(p.number()) == null).forEach(ports::add);
        return ports.size() == a.ports().size() ? a : VirtualServiceDestinations.withPortList(a, ports);
    }

    /**
     * The VirtualServices for the mesh gateway that a sidecar imports, in istiod's order (its SelectVirtualServices
     * over the private, the exported-by-name, then the public ones; within each, the Gateway API's routes of the
     * proxy's namespace first, then the oldest): those exported to its
     * namespace and, when its Sidecar resource lists egress hosts, those of a namespace an entry names ("*", "." for
     * the proxy's own) with a host that entry's host takes or that takes it ("*", "*.example.com"; Istio's two-way
     * match for VirtualService hosts). Delegates (no hosts) are not among them: they live in their roots' routes.
     */
    static List<VirtualService> virtualServices(ProxyInfo proxy, MeshSnapshot snapshot) {
        PolicyConfig.Sidecar scope = scope(proxy, snapshot);
        return snapshot.virtualServices().stream()
                .filter(vs -> !vs.hosts().isEmpty() && (vs.gateways().isEmpty() || vs.gateways().contains("mesh")))
                .filter(vs -> ExportTo.visible(vs.exportTo(), vs.namespace(), proxy.namespace()))
                .filter(vs -> scope == null || scope.egressHosts().isEmpty() || imports(scope, proxy, vs))
                // A stable sort: the snapshot's list is already in Istio's order (oldest first).
                .sorted(MeshSnapshot.sidecarOrder(proxy.namespace()))
                .toList();
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

    /** Whether an egress entry "namespace/host" of the Sidecar resource takes the VirtualService (istiod's VSMatches). */
    private static boolean imports(PolicyConfig.Sidecar sc, ProxyInfo proxy, VirtualService vs) {
        for (String entry : sc.egressHosts()) {
            int slash = entry.indexOf('/');
            String ns = entry.substring(0, slash);
            String host = entry.substring(slash + 1);
            if (!ns.equals("*") && !(ns.equals(".") ? proxy.namespace() : ns).equals(vs.namespace())) {
                continue;
            }
            for (String h : vs.hosts()) {
                String fqdn = Hosts.resolve(h, vs.namespace());
                if (Hosts.covers(host, fqdn) || Hosts.covers(fqdn, host)) {
                    return true;
                }
            }
        }
        return false;
    }
}
