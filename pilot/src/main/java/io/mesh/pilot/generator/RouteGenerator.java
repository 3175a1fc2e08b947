package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.config.Gateway;
import io.mesh.config.Hosts;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * RDS: (proxy, snapshot, names) -> RouteConfigurations. gRPC clients name a route table after their listener
 * ("host:port"); sidecars by outbound port ("80"); routers by gateway port ("http.8080").
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
        for (ServiceModel s : SidecarScope.visibleServices(proxy, snapshot)) {
            ServiceModel.Port p = s.port(port);
            if (p != null && p.http()) {
                rc.addVirtualHosts(VirtualHosts.forService(s.hostname(), port,
                        VirtualHosts.meshDomains(s.hostname(), port, proxy.namespace()), snapshot, proxy));
            }
        }
        rc.addVirtualHosts(VirtualHosts.catchAll(SidecarScope.outboundTrafficPolicy(proxy, snapshot)));
        return rc.build();
    }

    private static RouteConfiguration router(ProxyInfo proxy, MeshSnapshot snapshot, String name) {
        if (!name.startsWith("http.")) {
            return null;
        }
        int port;
        try {
            port = Integer.parseInt(name.substring(5));
        } catch (NumberFormatException e) {
            return null;
        }
        // Each host of this port, with the VirtualServices that claim it (and the gateway each came through), in
        // Istio's order: those private to the proxy's namespace, then those exported to it, then public ones; oldest
        // first within each, then by name and namespace (GatewayScope.boundTo). As in Istio, VirtualServices bound
        // to a gateway for the same host are merged: the host's routes are the first one's, then the next one's.
        Map<String, List<Bound>> byHost = new LinkedHashMap<>();
        for (Gateway gw : GatewayScope.forProxy(proxy, snapshot)) {
            for (Gateway.Server server : gw.servers()) {
                if (server.port() != port) {
                    continue;
                }
                for (VirtualService vs : GatewayScope.boundTo(gw, snapshot, proxy)) {
                    for (String host : GatewayScope.matchingHosts(vs, server)) {
                        List<Bound> claims = byHost.computeIfAbsent(host, h -> new ArrayList<>());
                        if (claims.stream().noneMatch(b -> b.vs().equals(vs))) {
                            claims.add(new Bound(vs, gw));
                        }
                    }
                }
            }
        }
        // Hosts claimed by the same VirtualServices share one virtual host (one VirtualService: named after it).
        Map<List<Bound>, List<String>> groups = new LinkedHashMap<>();
        byHost.forEach((host, claims) -> groups.computeIfAbsent(claims, c -> new ArrayList<>()).add(host));
        RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(name);
        groups.forEach((claims, hosts) -> {
            VirtualService first = claims.get(0).vs();
            String vhName = claims.size() == 1 ? first.namespace() + "/" + first.name() + ":" + port : hosts.get(0) + ":" + port;
            VirtualHost.Builder vh = VirtualHost.newBuilder().setName(vhName).addAllDomains(hosts);
            // Clients may send the port in the Host header.
            hosts.stream().filter(h -> !h.equals("*")).forEach(h -> vh.addDomains(h + ":" + port));
            for (Bound b : claims) {
                for (VirtualService.HttpRoute http : b.vs().http()) {
                    vh.addAllRoutes(RouteBuilder.build(b.vs(), http, port, snapshot, proxy, b.gw()));
                }
            }
            rc.addVirtualHosts(vh);
        });
        return rc.build();
    }

    /** A VirtualService that claims a host on a router's port, through this gateway. */
    private record Bound(VirtualService vs, Gateway gw) {
    }

    static String fqdn(String host, String ns) {
        return Hosts.resolve(host, ns);
    }
}
