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
 * sends are in it ({@link Endpoint#sentBy}: not the not-ready or terminating ones), each with its health status.
 */
public final class EndpointGenerator {
    private EndpointGenerator() {
    }

    public static List<ClusterLoadAssignment> generate(ProxyInfo proxy, MeshSnapshot snapshot, Set<String> names) {
        List<ClusterLoadAssignment> out = new ArrayList<>();
        for (String name : names) {
            ClusterNames.Parsed p = ClusterNames.parse(name);
            if (p == null || snapshot.service(p.host(), proxy.namespace()) == null) {
                continue;
            }
            Map<String, String> subsetLabels = Map.of();
            if (p.subset() != null) {
                DestinationRule dr = snapshot.destinationRule(p.host(), proxy.namespace(), proxy.labels());
                DestinationRule.Subset ss = dr == null ? null
                        : dr.subsets().stream().filter(s -> s.name().equals(p.subset())).findFirst().orElse(null);
                if (ss == null) {
                    continue;
                }
                subsetLabels = ss.labels();
            }
            ServiceModel service = snapshot.services().get(p.host());
            out.add(assignment(name, snapshot.endpointsOf(p.host()).stream().filter(e -> e.sentBy(service)).toList(),
                    p.port(), subsetLabels));
        }
        return out;
    }

    static ClusterLoadAssignment assignment(String name, List<Endpoint> endpoints, int servicePort,
            Map<String, String> subsetLabels) {
        Map<String, List<Endpoint>> byLocality = new TreeMap<>();
        for (Endpoint e : endpoints) {
            Integer port = e.ports().get(servicePort);
            if (port != null && e.matches(subsetLabels)) {
                byLocality.computeIfAbsent(e.locality(), l -> new ArrayList<>()).add(e);
            }
        }
        ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(name);
        byLocality.forEach((locality, eps) -> {
            String[] parts = (locality + "//").split("/", -1);
            LocalityLbEndpoints.Builder l = LocalityLbEndpoints.newBuilder()
                    .setLocality(Locality.newBuilder().setRegion(parts[0]).setZone(parts[1]).setSubZone(parts[2]));
            int weight = 0;
            eps.sort(java.util.Comparator.comparing(Endpoint::address));
            for (Endpoint e : eps) {
                weight += Math.max(1, e.weight());
                l.addLbEndpoints(LbEndpoint.newBuilder()
                        .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                                        .setAddress(e.address()).setPortValue(e.ports().get(servicePort)))))
                        .setHealthStatus(status(e))
                        .setLoadBalancingWeight(UInt32Value.of(Math.max(1, e.weight()))));
            }
            l.setLoadBalancingWeight(UInt32Value.of(Math.max(1, weight)));
            cla.addEndpoints(l);
        });
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
