package io.mesh.pilot.generator;

import io.mesh.config.Hosts;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ServiceModel;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The services a sidecar needs because a VirtualService it imports routes to them, as istiod infers them when it
 * builds a SidecarScope (sidecar.go {@code collectImportedServices}, push_context.go
 * {@code virtualServiceDestinationsFilteredBySourceNamespace}, {@code serviceMatchingVirtualServicePorts}): so a
 * Sidecar resource whose egress names a VirtualService's host, but not where it routes, still gets those clusters.
 * It never decides listeners or virtual hosts: istiod adds these services to the scope's services (CDS, EDS), not
 * to its egress listener's.
 */
final class VirtualServiceDestinations {
    /** A destination without a port: every port of the service (istiod's sentinel 0). */
    static final int EVERY_PORT = 0;

    private VirtualServiceDestinations() {
    }

    /**
     * The FQDN of each destination of a VirtualService, with the ports its destinations name ({@link #EVERY_PORT}
     * for one naming none): those of its http routes (route and mirror destinations) that are for proxies in
     * {@code proxyNamespace}, of its tcp routes and of its tls routes. An http route is left out when one of its
     * matches names a {@code sourceNamespace} and none names this one, as istiod filters them (a match without one
     * does not count either way).
     */
    static Map<String, Set<Integer>> of(VirtualService vs, String proxyNamespace) {
        Map<String, Set<Integer>> out = new LinkedHashMap<>();
        for (VirtualService.HttpRoute http : vs.http()) {
            if (!forNamespace(http.match(), proxyNamespace)) {
                continue;
            }
            http.route().forEach(d -> add(out, vs, d.destination()));
            http.mirrors().forEach(m -> add(out, vs, m.destination()));
        }
        for (VirtualService.L4Route r : vs.tcp()) {
            r.route().forEach(d -> add(out, vs, d.destination()));
        }
        for (VirtualService.L4Route r : vs.tls()) {
            r.route().forEach(d -> add(out, vs, d.destination()));
        }
        return out;
    }

    /**
     * The service behind a destination host for a sidecar in {@code proxyNamespace}, as istiod picks it: the
     * service of the proxy's own namespace by that name (istiod does not ask whether it is exported there), else
     * one exported to the proxy's namespace; else none.
     */
    static ServiceModel service(String host, String proxyNamespace, MeshSnapshot snapshot) {
        ServiceModel s = snapshot.services().get(host);
        if (s == null || !(s.namespace().equals(proxyNamespace) || s.visibleTo(proxyNamespace))) {
            return null;
        }
        return s;
    }

    /**
     * The service with only the ports named (istiod's serviceMatchingVirtualServicePorts): all of them when a
     * destination names none; null when it has none of those named (istiod leaves it out: no route could reach it).
     */
    static ServiceModel withPorts(ServiceModel s, Set<Integer> ports) {
        if (ports.contains(EVERY_PORT)) {
            return s;
        }
        List<ServiceModel.Port> kept = s.ports().stream().filter(p -> ports.contains(p.number())).toList();
        if (kept.size() == s.ports().size()) {
            return s;
        }
        return kept.isEmpty() ? null : withPortList(s, kept);
    }

    /** The service with these ports, everything else as it is. */
    static ServiceModel withPortList(ServiceModel s, List<ServiceModel.Port> ports) {
        return new ServiceModel(s.hostname(), s.namespace(), ports, s.external(), s.origin(), s.addresses(),
                s.exportTo(), s.passthrough(), s.cidrs(), s.selectsWorkloads(), s.persistentSession(),
                s.trafficDistribution());
    }

    private static boolean forNamespace(List<VirtualService.Match> matches, String proxyNamespace) {
        boolean matched = true;
        for (VirtualService.Match m : matches) {
            if (m.sourceNamespace() != null && !m.sourceNamespace().isEmpty()) {
                if (m.sourceNamespace().equals(proxyNamespace)) {
                    return true;
                }
                matched = false;
            }
        }
        return matched;
    }

    private static void add(Map<String, Set<Integer>> out, VirtualService vs, VirtualService.Destination d) {
        if (d == null) {
            return;
        }
        out.computeIfAbsent(Hosts.resolve(d.host(), vs.namespace()), h -> new LinkedHashSet<>())
                .add(d.port() == null ? EVERY_PORT : d.port());
    }
}
