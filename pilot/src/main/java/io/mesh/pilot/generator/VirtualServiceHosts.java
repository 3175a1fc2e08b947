package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.config.Hosts;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The virtual hosts a sidecar's outbound route table for one port gets for the hosts of mesh VirtualServices that are
 * no service on that port (an external API without a ServiceEntry, say), as istiod builds them (route.go
 * {@code separateVSHostsAndServices} and {@code buildSidecarVirtualHostsForVirtualService}, httproute.go
 * {@code BuildSidecarOutboundVirtualHosts}). A host is such a host when no service the sidecar sees has it and the
 * port (a wildcard host: when it takes none of them). Its virtual host, {@code HOST:PORT}, answers to the host as
 * written (with and without the port: no short names) and carries the VirtualService's routes for the port. It is on
 * port 80 (istiod's special case for hosts outside the registry), and on any port where the same VirtualService also
 * routes a service with an HTTP port of that number (its other hosts come along). A VirtualService with no route for
 * the port gives none. Of several VirtualServices naming one such host, the first in {@link SidecarScope#virtualServices}
 * order keeps it, and a domain an earlier virtual host took is left out of a later one, as istiod dedupes them.
 * Listeners are not this class's concern: as in istiod, such a host is reached only through the port's
 * {@code 0.0.0.0_PORT} HTTP listener, which exists when a service the sidecar sees has an HTTP port of that number.
 */
final class VirtualServiceHosts {
    /** istiod's port for hosts outside the registry (route.go: "serviceByPort[80] = nil"). */
    static final int HTTP_PORT = 80;

    private VirtualServiceHosts() {
    }

    /** The virtual hosts, in the order of the VirtualServices and of their hosts. */
    static List<VirtualHost> forPort(int port, List<ServiceModel> visible, MeshSnapshot snapshot, ProxyInfo proxy) {
        Map<String, ServiceModel> onPort = new LinkedHashMap<>();
        visible.stream().filter(s -> s.port(port) != null).forEach(s -> onPort.putIfAbsent(s.hostname(), s));
        List<VirtualHost> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<String> taken = new HashSet<>();
        for (VirtualService vs : SidecarScope.virtualServices(proxy, snapshot)) {
            List<String> hosts = vs.hosts().stream().map(h -> Hosts.resolve(h, vs.namespace())).distinct().toList();
            // Off port 80, istiod looks only at VirtualServices that name a service with the port.
            if (port != HTTP_PORT && hosts.stream().noneMatch(h -> onPort.keySet().stream().anyMatch(s -> matches(h, s)))) {
                continue;
            }
            List<String> outside = new ArrayList<>();
            boolean routesHttpService = false;
            for (String h : hosts) {
                if (!h.startsWith("*")) {
                    ServiceModel s = onPort.get(h);
                    if (s == null) {
                        outside.add(h);
                    } else {
                        routesHttpService |= s.port(port).http();
                    }
                    continue;
                }
                boolean takesOne = false;
                for (ServiceModel s : onPort.values()) {
                    if (matches(h, s.hostname())) {
                        takesOne = true;
                        // istiod counts the service for this VirtualService only if it is the one routing it.
                        routesHttpService |= s.port(port).http() && vs.equals(snapshot.meshRoute(s.hostname(), proxy.namespace()));
                    }
                }
                if (!takesOne) {
                    outside.add(h);
                }
            }
            if (outside.isEmpty() || (port != HTTP_PORT && !routesHttpService)) {
                continue;
            }
            List<Route> routes = new ArrayList<>();
            for (VirtualService.HttpRoute http : vs.http()) {
                routes.addAll(RouteBuilder.build(vs, http, port, snapshot, proxy, null));
            }
            if (routes.isEmpty()) {
                continue;
            }
            for (String h : outside) {
                String name = h + ":" + port;
                if (!names.add(name)) {
                    continue;
                }
                Set<String> domains = new LinkedHashSet<>(List.of(h, name));
                domains.removeIf(d -> !taken.add(d));
                if (!domains.isEmpty()) {
                    out.add(VirtualHost.newBuilder().setName(name).addAllDomains(domains).addAllRoutes(routes).build());
                }
            }
        }
        return out;
    }

    /** Istio's host.Name.Matches: either host takes the other ("*.example.com" and "a.example.com", or two wildcards). */
    static boolean matches(String a, String b) {
        return Hosts.covers(a, b) || Hosts.covers(b, a);
    }
}
