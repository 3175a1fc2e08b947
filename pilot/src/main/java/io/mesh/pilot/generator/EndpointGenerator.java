package io.mesh.pilot.generator;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.mesh.config.DestinationRule;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * EDS: a ClusterLoadAssignment per requested cluster, endpoints grouped by locality. Every locality gets a
 * load_balancing_weight of at least 1 (XDS-NOTES: grpc-java finds "no usable endpoint" otherwise). A cluster that
 * is known but has no endpoints gets an empty assignment, so removals reach the client. Only the endpoints istiod
 * sends are in it ({@link Endpoint#sentBy}: not the terminating ones, nor the not-ready ones unless the service has a
 * traffic distribution or the mesh sends them all, PILOT_SEND_UNHEALTHY_ENDPOINTS), each with its health status.
 * Locality load balancing ({@link LocalityLoadBalancer}, a service's traffic distribution included) makes an
 * assignment depend on where the proxy is ({@link ProxyLocality}: its locality, and its node where that matters), so
 * the generation cache keys EDS by them too. Each endpoint that takes mesh mTLS carries the
 * {@code envoy.transport_socket_match} metadata that auto-mTLS clusters match ({@link AutoMtls}).
 */
public final class EndpointGenerator {
    private EndpointGenerator() {
    }

    public static List<ClusterLoadAssignment> generate(ProxyInfo proxy, MeshSnapshot snapshot, Set<String> names) {
        List<ClusterLoadAssignment> out = new ArrayList<>();
        String locality = null;
        String node = null;
        Set<String> scope = null;
        for (String name : names) {
            ClusterNames.Parsed p = ClusterNames.parse(name);
            if (p == null) {
                continue;
            }
            if (snapshot.service(p.host(), proxy.namespace()) == null) {
                // Not exported to the proxy's namespace. A sidecar still gets one of its own namespace that a
                // VirtualService it imports routes to: istiod's SidecarScope takes those without asking.
                ServiceModel own = snapshot.services().get(p.host());
                if (proxy.type() != ProxyInfo.Type.SIDECAR || own == null
                        || !own.namespace().equals(proxy.namespace())) {
                    continue;
                }
                if (scope == null) {
                    scope = new java.util.HashSet<>();
                    for (ServiceModel s : SidecarScope.services(proxy, snapshot)) {
                        scope.add(s.hostname());
                    }
                }
                if (!scope.contains(p.host())) {
                    continue;
                }
            }
            Map<String, String> subsetLabels = Map.of();
            DestinationRule dr = snapshot.destinationRule(p.host(), proxy.namespace(), proxy.labels());
            if (p.subset() != null) {
                DestinationRule.Subset ss = dr == null ? null
                        : dr.subsets().stream().filter(s -> s.name().equals(p.subset())).findFirst().orElse(null);
                if (ss == null) {
                    continue;
                }
                subsetLabels = ss.labels();
            }
            ServiceModel service = snapshot.services().get(p.host());
            DestinationRule.TrafficPolicy policy = dr == null ? null : dr.policyFor(p.port(), p.subset());
            // istiod's BuildClusterLoadAssignment (pilot/pkg/xds/endpoints/endpoint_builder.go): the same for every
            // kind of proxy asking (sidecar, router, proxyless gRPC).
            LocalityLoadBalancer.Choice choice = LocalityLoadBalancer.choose(snapshot.mesh().localityLbSetting(),
                    policy, service);
            List<LocalityLoadBalancer.Group> groups = groups(snapshot.endpointsOf(p.host()).stream()
                    .filter(e -> e.sentBy(service, snapshot.mesh().sendUnhealthyEndpoints())).toList(), p.port(),
                    subsetLabels);
            if (choice.setting() != null && !groups.isEmpty()) {
                if (locality == null) {
                    locality = ProxyLocality.of(proxy, snapshot);
                    node = ProxyLocality.node(proxy, snapshot);
                }
                groups = LocalityLoadBalancer.apply(groups, locality, node, proxy.labels(), choice.setting(),
                        choice.failover(policy));
            }
            // Auto mTLS per endpoint (AutoMtls): the match metadata on each endpoint that takes mesh mTLS; the
            // endpoints are the service's, in its namespace.
            String namespace = service == null ? proxy.namespace() : service.namespace();
            out.add(assignment(name, groups, p.port(),
                    (e, port) -> AutoMtls.endpointMetadata(e, port, namespace, policy, snapshot)));
        }
        return out;
    }

    /** The endpoints serving {@code servicePort} and matching the subset, by locality (sorted), weighted. */
    static List<LocalityLoadBalancer.Group> groups(List<Endpoint> endpoints, int servicePort,
            Map<String, String> subsetLabels) {
        Map<String, List<Endpoint>> byLocality = new TreeMap<>();
        for (Endpoint e : endpoints) {
            Integer port = e.ports().get(servicePort);
            if (port != null && e.matches(subsetLabels)) {
                byLocality.computeIfAbsent(e.locality(), l -> new ArrayList<>()).add(e);
            }
        }
        List<LocalityLoadBalancer.Group> out = new ArrayList<>();
        byLocality.forEach((locality, eps) -> {
            eps.sort(java.util.Comparator.comparing(Endpoint::address));
            int weight = eps.stream().mapToInt(e -> Math.max(1, e.weight())).sum();
            out.add(new LocalityLoadBalancer.Group(locality, eps, 0, Math.max(1, weight)));
        });
        return out;
    }

    /** {@code metadata}: an endpoint's metadata given its port (null: none). */
    static ClusterLoadAssignment assignment(String name, List<LocalityLoadBalancer.Group> groups, int servicePort,
            java.util.function.BiFunction<Endpoint, Integer, io.envoyproxy.envoy.config.core.v3.Metadata> metadata) {
        ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(name);
        for (LocalityLoadBalancer.Group g : groups) {
            String[] parts = ProxyLocality.parts(g.locality);
            LocalityLbEndpoints.Builder l = LocalityLbEndpoints.newBuilder()
                    .setLocality(Locality.newBuilder().setRegion(parts[0]).setZone(parts[1]).setSubZone(parts[2]))
                    .setPriority(g.priority);
            for (Endpoint e : g.endpoints) {
                int port = e.ports().get(servicePort);
                LbEndpoint.Builder lb = LbEndpoint.newBuilder()
                        .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                                        .setAddress(e.address()).setPortValue(port))))
                        .setHealthStatus(status(e))
                        .setLoadBalancingWeight(UInt32Value.of(Math.max(1, e.weight())));
                var m = metadata.apply(e, port);
                if (m != null) {
                    lb.setMetadata(m);
                }
                l.addLbEndpoints(lb);
            }
            l.setLoadBalancingWeight(UInt32Value.of(Math.max(1, g.weight)));
            cla.addEndpoints(l);
        }
        return cla.build();
    }

    /** The endpoint's health as Envoy's HealthStatus (istiod casts its model.HealthStatus the same way). */
    static HealthStatus status(Endpoint e) {
        return switch (e.effectiveHealth()) {
            case HEALTHY -> HealthStatus.HEALTHY;
            case UNHEALTHY -> HealthStatus.UNHEALTHY;
            case DRAINING -> HealthStatus.DRAINING;
            case TERMINATING -> HealthStatus.UNKNOWN;   // never sent (Endpoint#sentBy)
        };
    }
}
