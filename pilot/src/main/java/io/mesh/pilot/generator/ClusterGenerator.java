package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.mesh.config.DestinationRule;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * CDS: one EDS cluster per service port, plus one per DestinationRule subset. gRPC clients ask by name; sidecars
 * and routers get every visible cluster (wildcard).
 */
public final class ClusterGenerator {
    /** ORIGINAL_DST: where a captured connection was going (ALLOW_ANY). */
    static final String PASSTHROUGH = "PassthroughCluster";
    /** STATIC with no endpoints: refuses (REGISTRY_ONLY). */
    static final String BLACK_HOLE = "BlackHoleCluster";

    private ClusterGenerator() {
    }

    public static List<Cluster> generate(ProxyInfo proxy, MeshSnapshot snapshot, Set<String> names) {
        boolean proxyless = proxy.type() == ProxyInfo.Type.GRPC;
        List<Cluster> out = new ArrayList<>();
        if (proxyless) {
            for (String name : names) {
                ClusterNames.Parsed p = ClusterNames.parse(name);
                if (p == null) {
                    continue;
                }
                ServiceModel s = snapshot.services().get(p.host());
                if (s == null || s.port(p.port()) == null) {
                    continue;
                }
                DestinationRule dr = snapshot.destinationRules().get(p.host());
                if (p.subset() != null && (dr == null
                        || dr.subsets().stream().noneMatch(ss -> ss.name().equals(p.subset())))) {
                    continue;
                }
                out.add(cluster(s, p.port(), p.subset(), dr, true));
            }
            return out;
        }
        List<ServiceModel> services = proxy.type() == ProxyInfo.Type.SIDECAR
                ? SidecarScope.visibleServices(proxy, snapshot) : List.copyOf(snapshot.services().values());
        for (ServiceModel s : services) {
            DestinationRule dr = snapshot.destinationRules().get(s.hostname());
            for (ServiceModel.Port port : s.ports()) {
                out.add(cluster(s, port.number(), null, dr, false));
                if (dr != null) {
                    for (DestinationRule.Subset subset : dr.subsets()) {
                        out.add(cluster(s, port.number(), subset.name(), dr, false));
                    }
                }
            }
        }
        if (proxy.type() == ProxyInfo.Type.SIDECAR) {
            out.addAll(SidecarInbound.clusters(proxy, snapshot));
            // virtualOutbound and the allow_any route send unknown destinations here, to where they were going.
            out.add(Cluster.newBuilder().setName(PASSTHROUGH).setType(Cluster.DiscoveryType.ORIGINAL_DST)
                    .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
                    .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10)).build());
            // Under REGISTRY_ONLY virtualOutbound sends them here: no endpoints, so the connection is closed.
            out.add(Cluster.newBuilder().setName(BLACK_HOLE).setType(Cluster.DiscoveryType.STATIC)
                    .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10))
                    .setLoadAssignment(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
                            .setClusterName(BLACK_HOLE)).build());
        }
        return names.isEmpty() ? out : out.stream().filter(c -> names.contains(c.getName())).toList();
    }

    static Cluster cluster(ServiceModel s, int port, String subset, DestinationRule dr, boolean proxyless) {
        String name = ClusterNames.outbound(s.hostname(), port, subset);
        Cluster.Builder c = Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS)
                .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(Protos.ads())
                        .setServiceName(name))
                .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10))
                .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
        if (dr != null) {
            DestinationRule.TrafficPolicy policy = dr.trafficPolicy();
            if (subset != null) {
                for (DestinationRule.Subset ss : dr.subsets()) {
                    if (ss.name().equals(subset)) {
                        policy = policy.overriddenBy(ss.trafficPolicy());
                    }
                }
            }
            ClusterPolicy.apply(c, policy, "outbound_." + port + "_." + (subset == null ? "" : subset) + "_."
                    + s.hostname(), proxyless);
        }
        return c.build();
    }
}
