package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.config.Gateway;
import io.mesh.config.Hosts;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceAlias;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * RDS: (proxy, snapshot, names) -> RouteConfigurations. gRPC clients name a route table after their listener
 * ("host:port"); sidecars by outbound port ("80"); routers by gateway port ("http.8080"; "http.8080.BIND" for servers with a bind).
 */
public final class RouteGenerator {
    private RouteGenerator() {
    }

    public static List<RouteConfiguration> generate(ProxyInfo proxy, MeshSnapshot snapshot, Set<String> names) {
        List<RouteConfiguration> out = new ArrayList<>();
        for (String name : names) {
            RouteConfiguration rc = switch (proxy.type()) {
                case GRPC -> grpc(proxy, snapshot, name);
                case SIDECAR -> sidecar(proxy, snapshot, name);
                case ROUTER -> router(proxy, snapshot, name);
            };
            if (rc != null) {
                out.add(rc);
            }
        }
        return out;
    }

    private static RouteConfiguration grpc(ProxyInfo proxy, MeshSnapshot snapshot, String name) {
        GrpcTarget t = GrpcTarget.parse(name, proxy.namespace(), snapshot);
        if (t == null) {
            return null;
        }
        Set<String> domains = new LinkedHashSet<>();
        domains.add(name);
        domains.addAll(VirtualHosts.meshDomains(t.host(), t.port(), proxy.namespace()));
        return RouteConfiguration.newBuilder().setName(name)
                .addVirtualHosts(VirtualHosts.forService(t.host(), t.port(), domains, snapshot, proxy)).build();
    }

    private static RouteConfiguration sidecar(ProxyInfo proxy, MeshSnapshot snapshot, String name) {
        int port;
        try {
            port = Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return null;
        }
        RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(name);
        List<ServiceModel> visible = SidecarScope.visibleServices(proxy, snapshot);
        // Mesh VirtualServices' hosts that are no service on this port (VirtualServiceHosts): istiod builds them first,
        // so a domain one of them takes is not a service's too.
        List<VirtualHost> vsHosts = VirtualServiceHosts.forPort(port, visible, snapshot, proxy);
        Set<String> taken = new java.util.HashSet<>();
        vsHosts.forEach(vh -> taken.addAll(vh.getDomainsList()));
        for (ServiceModel s : visible) {
            ServiceModel.Port p = s.port(port);
            if (p != null && p.http()) {
                Set<String> domains = VirtualHosts.meshDomains(s.hostname(), port, proxy.namespace());
                if (s.headless()) {
                    domains = PassthroughServices.withPodNames(domains);
                }
                // Istio's ExternalName aliases: the Services pointing at this one answer to their names here too.
                for (ServiceAlias alias : snapshot.aliasesOf(s.hostname(), proxy.namespace())) {
                    domains.addAll(VirtualHosts.meshDomains(alias.hostname(), port, proxy.namespace()));
                }
                domains.removeAll(taken);
                if (!domains.isEmpty()) {
                    VirtualHost.Builder vh = VirtualHosts.forService(s.hostname(), port, domains, snapshot, proxy)
                            .toBuilder();
                    StatefulSessions.addTo(vh, s, snapshot.mesh());
                    rc.addVirtualHosts(vh);
                }
            }
        }
        rc.addAllVirtualHosts(vsHosts);
        rc.addVirtualHosts(VirtualHosts.catchAll(SidecarScope.outboundTrafficPolicy(proxy, snapshot)));
        return rc.build();
    }

    private static RouteConfiguration router(ProxyInfo proxy, MeshSnapshot snapshot, String name) {
        if (!name.startsWith("http.")) {
            return null;
        }
        // "http.PORT", or "http.PORT.BIND" for the servers with that bind (istiod's names)
        String rest = name.substring(5);
        int dot = rest.indexOf('.');
        String bind = dot < 0 ? "" : rest.substring(dot + 1);
        int port;
        try {
            port = Integer.parseInt(dot < 0 ? rest : rest.substring(0, dot));
        } catch (NumberFormatException e) {
            return null;
        }
        // Each host of this port, with the VirtualServices that claim it (and the gateway each came through), in
        // Istio's order: those private to the proxy's namespace, then those exported to it, then public ones; oldest
        // first within each, then by name and namespace (GatewayScope.boundTo). As in Istio, VirtualServices bound
        // to a gateway for the same host are merged: the host's routes are the first one's, then the next one's.
        Map<String, List<Bound>> byHost = new LinkedHashMap<>();
        // Istio's httpsRedirect: the hosts a redirecting server takes answer plain HTTP with a 301 to https
        // (require_tls ALL), and its hosts no VirtualService claims get a virtual host that only redirects.
        Set<String> redirected = new LinkedHashSet<>();
        Set<String> redirectOnly = new LinkedHashSet<>();
        for (Gateway gw : GatewayScope.forProxy(proxy, snapshot)) {
            for (Gateway.Server server : gw.servers()) {
                if (server.port() != port || !server.bind().equals(bind)) {
                    continue;
                }
                boolean redirect = server.tls() != null && server.tls().httpsRedirect();
                for (VirtualService vs : GatewayScope.boundTo(gw, snapshot, proxy)) {
                    for (String host : GatewayScope.matchingHosts(gw, vs, server)) {
                        List<Bound> claims = byHost.computeIfAbsent(host, h -> new ArrayList<>());
                        if (claims.stream().noneMatch(b -> b.vs().equals(vs))) {
                            claims.add(new Bound(vs, gw));
                        }
                        if (redirect) {
                            redirected.add(host);
                        }
                    }
                }
                if (redirect) {
                    server.hosts().forEach(h -> redirectOnly.add(h.contains("/") ? h.substring(h.indexOf('/') + 1) : h));
                }
            }
        }
        redirectOnly.removeAll(byHost.keySet());
        // Hosts claimed by the same VirtualServices (and redirected or not alike) share one virtual host (one
        // VirtualService: named after it).
        Map<Group, List<String>> groups = new LinkedHashMap<>();
        byHost.forEach((host, claims) -> groups.computeIfAbsent(new Group(claims, redirected.contains(host),
                gatewayService(host, claims.get(0).vs(), snapshot, proxy)), c -> new ArrayList<>()).add(host));
        RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(name);
        Set<String> names = new java.util.HashSet<>();
        groups.forEach((group, hosts) -> {
            List<Bound> claims = group.claims();
            VirtualService first = claims.get(0).vs();
            String vhName = claims.size() == 1 ? first.namespace() + "/" + first.name() + ":" + port : hosts.get(0) + ":" + port;
            if (!names.add(vhName)) {
                vhName = hosts.get(0) + ":" + port;   // the VirtualService's other hosts, redirected and not: unique names
                names.add(vhName);
            }
            VirtualHost.Builder vh = VirtualHost.newBuilder().setName(vhName);
            addDomains(vh, hosts, port);
            for (Bound b : claims) {
                for (VirtualService.HttpRoute http : b.vs().http()) {
                    vh.addAllRoutes(RouteBuilder.build(b.vs(), http, port, snapshot, proxy, b.gw()));
                }
            }
            if (group.redirect()) {
                vh.setRequireTls(VirtualHost.TlsRequirementType.ALL);
            }
            StatefulSessions.addTo(vh, group.service(), snapshot.mesh());
            rc.addVirtualHosts(vh);
        });
        for (String host : redirectOnly) {
            VirtualHost.Builder vh = VirtualHost.newBuilder().setName(host + ":" + port)
                    .setRequireTls(VirtualHost.TlsRequirementType.ALL);
            addDomains(vh, List.of(host), port);
            rc.addVirtualHosts(vh);
        }
        return rc.build();
    }

    /** The hosts, and each with the port: clients may send the port in the Host header. */
    private static void addDomains(VirtualHost.Builder vh, List<String> hosts, int port) {
        vh.addAllDomains(hosts);
        hosts.stream().filter(h -> !h.equals("*")).forEach(h -> vh.addDomains(h + ":" + port));
    }

    /**
     * The VirtualServices that claim a host on a router's port, whether a redirecting server takes it, and its
     * persistent-session service (null: none), which a virtual host of its own carries.
     */
    private record Group(List<Bound> claims, boolean redirect, ServiceModel service) {
    }

    /**
     * istiod's gatewayService of a router's virtual host: the service the host itself names when the first
     * VirtualService claiming it routes or mirrors to it (buildNameToServiceMapForHTTPRoutes, looked up by the
     * virtual host's hostname, both resolved in the VirtualService's namespace). Only one with persistent sessions
     * matters here, and only with the session filter on, so any other is null.
     */
    private static ServiceModel gatewayService(String host, VirtualService vs, MeshSnapshot snapshot, ProxyInfo proxy) {
        if (!snapshot.mesh().persistentSessionFilter()) {
            return null;   // no session filter is sent: skip the lookup on every push (the flag is off by default)
        }
        String fqdn = fqdn(host, vs.namespace());
        boolean destination = false;
        for (VirtualService.HttpRoute http : vs.http()) {
            for (VirtualService.RouteDestination d : http.route()) {
                destination |= d.destination() != null && fqdn(d.destination().host(), vs.namespace()).equals(fqdn);
            }
            for (VirtualService.Mirror m : http.mirrors()) {
                destination |= m.destination() != null && fqdn(m.destination().host(), vs.namespace()).equals(fqdn);
            }
        }
        if (!destination) {
            return null;
        }
        ServiceModel s = snapshot.service(fqdn, vs.namespace());
        if (s == null) {
            s = snapshot.service(fqdn, proxy.namespace());
        }
        return s == null || s.persistentSession() == null ? null : s;
    }

    /** A VirtualService that claims a host on a router's port, through this gateway. */
    private record Bound(VirtualService vs, Gateway gw) {
    }

    static String fqdn(String host, String ns) {
        return Hosts.resolve(host, ns);
    }
}
