package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.mesh.config.DestinationRule;
import io.mesh.config.Gateway;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Istio's AUTO_PASSTHROUGH gateway servers (the east-west gateway of a multi-network mesh, port 15443): a sidecar in
 * another network sends its mesh mTLS connection to the gateway with the SNI it always sets,
 * {@code outbound_.PORT_.SUBSET_.HOST}; the gateway reads the name from the ClientHello and passes the TLS stream,
 * untouched, to an endpoint of that service port (and subset). No VirtualService is involved: the SNI is the route.
 *
 * <p>So the router gets one "SNI-DNAT" cluster per service port and DestinationRule subset that a server's hosts
 * take, named as the SNI, reading the same EDS assignment as the ordinary cluster ({@code outbound|PORT|SUBSET|HOST})
 * and with the DestinationRule's load balancing, connection pool and outlier detection but never TLS of its own (the
 * client's mTLS goes through to the destination's sidecar), and one filter chain per such name on the server's
 * listener. Services outside the mesh (MESH_EXTERNAL ServiceEntries) are left out, as istiod does.
 */
final class SniDnat {
    private SniDnat() {
    }

    /** The SNI a sidecar sends for a cluster, and the name of its SNI-DNAT cluster on a router. */
    static String name(String host, int port, String subset) {
        return "outbound_." + port + "_." + (subset == null ? "" : subset) + "_." + host;
    }

    /** The AUTO_PASSTHROUGH servers of the Gateways this router implements. */
    static List<Gateway.Server> servers(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<Gateway.Server> out = new ArrayList<>();
        for (Gateway gw : GatewayScope.forProxy(proxy, snapshot)) {
            gw.servers().stream().filter(Gateway.Server::autoPassthrough).map(sv -> ownNamespace(gw, sv))
                    .forEach(out::add);
        }
        return out;
    }

    /** The server with its "./host" hosts in the Gateway's own namespace, as istiod resolves them. */
    static Gateway.Server ownNamespace(Gateway gw, Gateway.Server sv) {
        return new Gateway.Server(sv.name(), sv.port(), sv.portName(), sv.protocol(), sv.hosts().stream()
                .map(h -> h.startsWith("./") ? gw.namespace() + h.substring(1) : h).toList(), sv.tls(), sv.bind());
    }

    /** A name of the SNI-DNAT form, with the service's port and subset, for each service port the servers' hosts take. */
    private record Target(ServiceModel service, int port, String subset, DestinationRule dr) {
        String name() {
            return SniDnat.name(service.hostname(), port, subset);
        }
    }

    private static List<Target> targets(List<Gateway.Server> servers, ProxyInfo proxy, MeshSnapshot snapshot) {
        List<Target> out = new ArrayList<>();
        for (ServiceModel s : snapshot.services().values()) {
            if (s.external() || !s.visibleTo(proxy.namespace()) || servers.stream().noneMatch(sv -> takes(sv, s))) {
                continue;
            }
            DestinationRule dr = snapshot.destinationRule(s.hostname(), proxy.namespace(), proxy.labels());
            for (ServiceModel.Port p : s.ports()) {
                out.add(new Target(s, p.number(), null, dr));
                if (dr != null) {
                    dr.subsets().forEach(ss -> out.add(new Target(s, p.number(), ss.name(), dr)));
                }
            }
        }
        return out;
    }

    /** Whether a server's hosts ("ns/host", "*", "*.suffix") take the service. */
    static boolean takes(Gateway.Server server, ServiceModel s) {
        for (String sh : server.hosts()) {
            String ns = sh.contains("/") ? sh.substring(0, sh.indexOf('/')) : "*";
            String h = sh.contains("/") ? sh.substring(sh.indexOf('/') + 1) : sh;
            boolean nsOk = ns.equals("*") || ns.equals(s.namespace());
            if (nsOk && GatewayScope.hostMatches(h, s.hostname())) {
                return true;
            }
        }
        return false;
    }

    /** The SNI-DNAT clusters of a router with AUTO_PASSTHROUGH servers (none without). */
    static List<Cluster> clusters(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<Gateway.Server> servers = servers(proxy, snapshot);
        if (servers.isEmpty()) {
            return List.of();
        }
        List<Cluster> out = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        for (Target t : targets(servers, proxy, snapshot)) {
            if (!seen.add(t.name())) {
                continue;
            }
            String eds = ClusterNames.outbound(t.service().hostname(), t.port(), t.subset());
            Cluster.Builder c = Cluster.newBuilder().setName(t.name()).setType(Cluster.DiscoveryType.EDS)
                    .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(Protos.ads())
                            .setServiceName(eds))
                    .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10))
                    .setLbPolicy(ClusterPolicy.defaultLbPolicy(false));
            DestinationRule.TrafficPolicy p = t.dr() == null ? null : t.dr().policyFor(t.port(), t.subset());
            if (p != null) {
                // The DestinationRule's TLS is the client's business here: the stream passes through encrypted.
                ClusterPolicy.apply(c, new DestinationRule.TrafficPolicy(p.loadBalancer(), p.connectionPool(),
                        p.outlierDetection(), null, java.util.Map.of()), t.name(), false, List.of());
            }
            ClusterPolicy.meshTcpKeepalive(c, snapshot.mesh().tcpKeepalive());
            if (t.service().sendsUnhealthyEndpoints(snapshot.mesh().sendUnhealthyEndpoints())) {
                ClusterPolicy.sendsUnhealthyEndpoints(c);   // as on the sidecars' clusters (istiod's applyLoadBalancer)
            }
            out.add(c.build());
        }
        return out;
    }

    /**
     * The filter chains of one AUTO_PASSTHROUGH server: per name its hosts take (not already {@code claimed} on the
     * port), matched by SNI, {@code rbac} (the gateway's network RBAC) then a tcp_proxy to the cluster of that name.
     */
    static List<FilterChain> chains(Gateway.Server server, List<Filter> rbac, Set<String> claimed, ProxyInfo proxy,
            MeshSnapshot snapshot) {
        List<FilterChain> out = new ArrayList<>();
        for (Target t : targets(List.of(server), proxy, snapshot)) {
            if (claimed.add(t.name())) {
                out.add(FilterChain.newBuilder().setName(t.name())
                        .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(t.name()))
                        .addAllFilters(rbac).addFilters(SidecarListenerGenerator.tcpProxy(t.name(),
                                TcpProxyTimeouts.withRule(proxy, t.dr()))).build());
            }
        }
        return out;
    }
}
