package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.mesh.config.DestinationRule;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * CDS: one EDS cluster per service port, plus one per DestinationRule subset (on a sidecar, ORIGINAL_DST for a
 * headless Service or a ServiceEntry with resolution NONE: {@link PassthroughServices}). gRPC clients ask by name;
 * sidecars and routers get every visible cluster (wildcard; a sidecar those of its scope, {@link SidecarScope#services},
 * with its VirtualServices' destinations). For sidecars and routers, a cluster of a MESH_INTERNAL
 * service that the DestinationRule sets no TLS for gets auto mTLS ({@link AutoMtls}; istiod never infers mTLS for
 * MESH_EXTERNAL services): ISTIO_MUTUAL to the endpoints EDS marks as mesh workloads, plaintext to the others.
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
                ServiceModel s = snapshot.service(p.host(), proxy.namespace());
                if (s == null || s.port(p.port()) == null) {
                    continue;
                }
                DestinationRule dr = snapshot.destinationRule(p.host(), proxy.namespace(), proxy.labels());
                if (p.subset() != null && (dr == null
                        || dr.subsets().stream().noneMatch(ss -> ss.name().equals(p.subset())))) {
                    continue;
                }
                out.add(cluster(s, p.port(), p.subset(), dr, true, false, snapshot));
            }
            return out;
        }
        List<ServiceModel> services = proxy.type() == ProxyInfo.Type.SIDECAR
                ? SidecarScope.services(proxy, snapshot)
                : snapshot.services().values().stream().filter(s -> s.visibleTo(proxy.namespace())).toList();
        for (ServiceModel s : services) {
            DestinationRule dr = snapshot.destinationRule(s.hostname(), proxy.namespace(), proxy.labels());
            boolean originalDst = PassthroughServices.originalDst(s, proxy);
            for (ServiceModel.Port port : s.ports()) {
                Integer target = originalDst ? PassthroughServices.targetPort(s, port.number()) : null;
                out.add(originalDst(cluster(s, port.number(), null, dr, false, originalDst, snapshot), originalDst,
                        target));
                if (dr != null) {
                    for (DestinationRule.Subset subset : dr.subsets()) {
                        out.add(originalDst(cluster(s, port.number(), subset.name(), dr, false, originalDst, snapshot),
                                originalDst, target));
                    }
                }
            }
        }
        if (proxy.type() == ProxyInfo.Type.ROUTER) {
            out.addAll(SniDnat.clusters(proxy, snapshot));   // for AUTO_PASSTHROUGH servers, if it has any
        }
        if (proxy.type() == ProxyInfo.Type.SIDECAR) {
            out.addAll(SidecarInbound.clusters(proxy, snapshot));
            // virtualOutbound and the allow_any route send unknown destinations here, to where they were going.
            out.add(ClusterPolicy.meshTcpKeepalive(Cluster.newBuilder().setName(PASSTHROUGH)
                    .setType(Cluster.DiscoveryType.ORIGINAL_DST)
                    .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED).addFilters(MetadataExchange.TCP_CLUSTER)
                    .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10)),
                    snapshot.mesh().tcpKeepalive()).build());
            // Under REGISTRY_ONLY virtualOutbound sends them here: no endpoints, so the connection is closed.
            out.add(Cluster.newBuilder().setName(BLACK_HOLE).setType(Cluster.DiscoveryType.STATIC)
                    .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10))
                    .setLoadAssignment(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
                            .setClusterName(BLACK_HOLE)).build());
        }
        return names.isEmpty() ? out : out.stream().filter(c -> names.contains(c.getName())).toList();
    }

    /**
     * A Passthrough service's cluster on a sidecar, as istiod builds it: ORIGINAL_DST with lb_policy CLUSTER_PROVIDED and
     * no EDS (the connection goes to the pod IP the app dialled; at {@code targetPort} instead of the dialled port when
     * not null: {@code original_dst_lb_config.upstream_port_override}); its policies and auto mTLS stay as computed.
     */
    private static Cluster originalDst(Cluster c, boolean originalDst, Integer targetPort) {
        if (!originalDst) {
            return c;
        }
        Cluster.Builder b = c.toBuilder().setType(Cluster.DiscoveryType.ORIGINAL_DST).clearEdsClusterConfig()
                .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
        if (targetPort != null) {
            b.setOriginalDstLbConfig(Cluster.OriginalDstLbConfig.newBuilder()
                    .setUpstreamPortOverride(com.google.protobuf.UInt32Value.of(targetPort)));
        }
        return b.build();
    }

    /** The endpoint label that marks a workload with a mesh sidecar (Istio's injector sets it). */
    public static final String TLS_MODE_LABEL = AutoMtls.TLS_MODE_LABEL;

    /** {@code originalDst}: the cluster becomes ORIGINAL_DST ({@link PassthroughServices}), whose auto mTLS is per cluster. */
    static Cluster cluster(ServiceModel s, int port, String subset, DestinationRule dr, boolean proxyless,
            boolean originalDst, MeshSnapshot snapshot) {
        String name = ClusterNames.outbound(s.hostname(), port, subset);
        Cluster.Builder c = Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS)
                .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(Protos.ads())
                        .setServiceName(name))
                .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10))
                .setLbPolicy(ClusterPolicy.defaultLbPolicy(proxyless));
        String sni = SniDnat.name(s.hostname(), port, subset);
        DestinationRule.TrafficPolicy policy = null;
        Map<String, String> subsetLabels = Map.of();
        if (dr != null) {
            policy = dr.policyFor(port, subset);
            if (subset != null) {
                for (DestinationRule.Subset ss : dr.subsets()) {
                    if (ss.name().equals(subset)) {
                        subsetLabels = ss.labels();
                    }
                }
            }
        }
        List<Endpoint> endpoints = endpoints(snapshot, s.hostname(), port, subsetLabels);
        List<String> sans = spiffeIds(snapshot, s, endpoints);
        ClusterPolicy.apply(c, policy, sni, proxyless, sans);
        if (!proxyless) {
            ClusterPolicy.meshTcpKeepalive(c, snapshot.mesh().tcpKeepalive());
        }
        if (s.sendsUnhealthyEndpoints(snapshot.mesh().sendUnhealthyEndpoints())) {
            ClusterPolicy.sendsUnhealthyEndpoints(c);
        }
        if (subset == null) {
            StatefulSessions.overrideHostStatus(c, s);   // istiod: the default cluster only, not its subsets
        }
        LocalityLoadBalancer.Choice locality = LocalityLoadBalancer.choose(snapshot.mesh().localityLbSetting(), policy,
                s);
        if (LocalityLoadBalancer.localityWeighted(locality.setting(), locality.failover(policy))) {
            // As istiod: locality weights (distribute) count only under locality-weighted load balancing.
            c.setCommonLbConfig(c.getCommonLbConfig().toBuilder().setLocalityWeightedLbConfig(
                    Cluster.CommonLbConfig.LocalityWeightedLbConfig.getDefaultInstance()));
        }
        if (!proxyless) {
            c.setMetadata(dr == null ? TelemetryMetadata.services(List.of(s))
                    : ConfigMetadata.withDestinationRule(TelemetryMetadata.services(List.of(s)), dr.namespace(), dr.name()));
            c.addFilters(MetadataExchange.TCP_CLUSTER);   // istiod's TCPClusterMx, on every outbound cluster
            ServiceModel.Port p = s.port(port);
            ClusterPolicy.httpProtocol(c, p != null && p.http2(), policy == null ? null : policy.connectionPool(),
                    policy == null ? null : policy.tls());
        }
        if (!proxyless && !s.external() && (policy == null || policy.tls() == null)) {
            // Auto mTLS: no TLS settings, a service of the mesh (istiod: never MESH_EXTERNAL). Per endpoint, by the
            // metadata EDS writes; an original destination has none, so there every endpoint must be a sidecar.
            if (!originalDst) {
                AutoMtls.apply(c, ClusterPolicy.upstreamTls(ISTIO_MUTUAL, sni, sans));
            } else if (AutoMtls.allInMesh(endpoints)) {
                c.setTransportSocket(ClusterPolicy.upstreamTls(ISTIO_MUTUAL, sni, sans));
            }
        }
        return c.build();
    }

    private static final DestinationRule.Tls ISTIO_MUTUAL = new DestinationRule.Tls(
            DestinationRule.TlsMode.ISTIO_MUTUAL, null, null, List.of());

    /** The endpoints behind one cluster: those serving the port, in the subset. */
    static List<Endpoint> endpoints(MeshSnapshot snapshot, String host, int port, Map<String, String> subsetLabels) {
        return snapshot.endpointsOf(host).stream()
                .filter(e -> e.ports().containsKey(port) && e.matches(subsetLabels)).toList();
    }

    /** The SPIFFE IDs of the endpoints' service accounts (the service's namespace), sorted, without duplicates. */
    static List<String> spiffeIds(MeshSnapshot snapshot, ServiceModel s, List<Endpoint> endpoints) {
        java.util.TreeSet<String> ids = new java.util.TreeSet<>();
        for (Endpoint e : endpoints) {
            if (e.serviceAccount() != null && !e.serviceAccount().isEmpty()) {
                ids.add(snapshot.mesh().spiffeId(s.namespace(), e.serviceAccount()));
            }
        }
        return List.copyOf(ids);
    }

    /**
     * What the clusters' TLS depends on, per host: each endpoint's labels and service account (not its address, port or
     * health). When an endpoints-only update changes it, CDS must be pushed, not only EDS: the SANs are the endpoints'
     * service accounts (a subset's, chosen by labels), and an ORIGINAL_DST cluster's auto mTLS needs every endpoint
     * labelled. (An EDS cluster's auto mTLS itself follows from EDS alone: the match metadata.)
     */
    public static Map<String, Set<List<Object>>> endpointIdentities(MeshSnapshot snapshot) {
        Map<String, Set<List<Object>>> out = new java.util.HashMap<>();
        snapshot.endpoints().forEach((host, eps) -> {
            Set<List<Object>> ids = new java.util.HashSet<>();
            for (Endpoint e : eps) {
                ids.add(java.util.Arrays.asList(e.labels(), e.serviceAccount()));
            }
            out.put(host, ids);
        });
        return out;
    }
}
