package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.config.PolicyConfig;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The virtual host for one service port: its VirtualService routes, or a default route to the service. */
final class VirtualHosts {
    private VirtualHosts() {
    }

    /**
     * The routes of the first VirtualService the proxy's namespace uses for this host
     * ({@link MeshSnapshot#meshHttpRoutes}) that has routes for the port, else the default. (istiod skips a VirtualService without routes for the port and
     * takes the next one for the host: so GAMMA routes for two ports of one Service, two VirtualServices, both apply.)
     */
    static VirtualHost forService(String host, int port, Set<String> domains, MeshSnapshot snapshot, ProxyInfo proxy) {
        List<Route> routes = new ArrayList<>();
        for (VirtualService vs : snapshot.meshHttpRoutes(host, proxy.namespace())) {
            for (VirtualService.HttpRoute http : vs.http()) {
                routes.addAll(RouteBuilder.build(vs, http, port, snapshot, proxy, null));
            }
            if (!routes.isEmpty()) {
                break;
            }
        }
        if (routes.isEmpty()) {
            RouteAction.Builder action = RouteAction.newBuilder().setCluster(ClusterNames.outbound(host, port, null));
            if (proxy.type() != ProxyInfo.Type.GRPC) {
                action.setRetryPolicy(RouteBuilder.defaultRetryPolicy());   // as istiod's default route
            }
            // The DestinationRule's consistent-hash key, as istiod puts it on the default route too.
            RouteBuilder.addHashPolicy(action, snapshot.destinationRule(host, proxy.namespace(), proxy.labels()), port, null,
                    proxy.type() == ProxyInfo.Type.GRPC);
            routes.add(Route.newBuilder().setName("default").setMatch(RouteMatch.newBuilder().setPrefix("/"))
                    .setRoute(action).build());
        }
        return VirtualHost.newBuilder().setName(host + ":" + port).addAllDomains(domains).addAllRoutes(routes).build();
    }

    /**
     * The last virtual host of a sidecar's outbound route table, for hosts no service matched, as istiod builds
     * it: "allow_any" routes to PassthroughCluster (the original destination), "block_all" answers 502.
     */
    static VirtualHost catchAll(PolicyConfig.OutboundTrafficPolicy policy) {
        if (policy == PolicyConfig.OutboundTrafficPolicy.REGISTRY_ONLY) {
            return VirtualHost.newBuilder().setName("block_all").addDomains("*")
                    .addRoutes(Route.newBuilder().setName("block_all").setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setDirectResponse(DirectResponseAction.newBuilder().setStatus(502)))
                    .build();
        }
        return VirtualHost.newBuilder().setName("allow_any").addDomains("*")
                .addRoutes(Route.newBuilder().setName("allow_any").setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRoute(RouteAction.newBuilder().setCluster(ClusterGenerator.PASSTHROUGH)))
                .build();
    }

    /** What a client may write for this service: the FQDN and the Kubernetes short forms, with and without port. */
    static Set<String> meshDomains(String host, int port, String proxyNamespace) {
        Set<String> names = new LinkedHashSet<>();
        names.add(host);
        String suffix = ".svc.cluster.local";
        if (host.endsWith(suffix)) {
            String base = host.substring(0, host.length() - suffix.length());
            int dot = base.indexOf('.');
            if (dot > 0) {
                names.add(base);
                names.add(base + ".svc");
                if (base.substring(dot + 1).equals(proxyNamespace)) {
                    names.add(base.substring(0, dot));
                }
            }
        }
        Set<String> out = new LinkedHashSet<>();
        for (String n : names) {
            out.add(n);
            out.add(n + ":" + port);
        }
        return out;
    }
}
