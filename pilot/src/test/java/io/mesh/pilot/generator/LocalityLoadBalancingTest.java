package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.mesh.config.PolicyConfig;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Istio's locality load balancing in EDS, relative to the asking proxy's locality (istiod's ApplyLocalityLoadBalancer):
 * with outlier detection, priorities by proximity (0 same subzone, 1 same zone, 2 same region, 3 elsewhere), with
 * {@code failover} naming the next region, {@code failoverPriority} ranking by labels, {@code distribute} setting
 * locality weights, and {@code enabled: false} (or the mesh-wide switch) turning it off.
 */
class LocalityLoadBalancingTest {
    static final String HOST = "web.demo.svc.cluster.local";
    static final String CLUSTER = "outbound|80||" + HOST;
    static final String ENDPOINTS = """
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: web, namespace: demo}
            spec:
              hosts: [web.demo.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 80, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints:
              - {address: 10.0.0.1, locality: us-east/a/s1, labels: {tier: gold}}
              - {address: 10.0.0.2, locality: us-east/a/s2, labels: {tier: gold}}
              - {address: 10.0.0.3, locality: us-east/b, labels: {tier: silver}}
              - {address: 10.0.0.4, locality: us-west/a}
              - {address: 10.0.0.5, locality: eu/x}
            """;

    static String rule(String trafficPolicy) {
        return ENDPOINTS + """
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                """ + trafficPolicy.indent(4);
    }

    static final String OUTLIER = "outlierDetection: {consecutive5xxErrors: 3}\n";

    /** A sidecar whose xDS node says it is at {@code locality} ("region/zone/subzone"). */
    static ProxyInfo at(String locality, Map<String, String> labels) {
        String[] p = (locality + "//").split("/", -1);
        Node.Builder n = Node.newBuilder().setId("sidecar~10.1.0.9~client-1.demo~demo.svc.cluster.local")
                .setLocality(Locality.newBuilder().setRegion(p[0]).setZone(p[1]).setSubZone(p[2]));
        com.google.protobuf.Struct.Builder l = com.google.protobuf.Struct.newBuilder();
        labels.forEach((k, v) -> l.putFields(k, com.google.protobuf.Value.newBuilder().setStringValue(v).build()));
        n.setMetadata(com.google.protobuf.Struct.newBuilder().putFields("LABELS",
                com.google.protobuf.Value.newBuilder().setStructValue(l).build()));
        return ProxyInfo.from(n.build());
    }

    static ProxyInfo at(String locality) {
        return at(locality, Map.of());
    }

    static ClusterLoadAssignment eds(ProxyInfo proxy, MeshSnapshot s) {
        List<ClusterLoadAssignment> out = EndpointGenerator.generate(proxy, s, Set.of(CLUSTER));
        assertEquals(1, out.size());
        return out.get(0);
    }

    /** Locality ("region/zone/subzone") -> priority. */
    static Map<String, Integer> priorities(ClusterLoadAssignment cla) {
        Map<String, Integer> out = new TreeMap<>();
        for (LocalityLbEndpoints l : cla.getEndpointsList()) {
            for (var e : l.getLbEndpointsList()) {
                out.put(e.getEndpoint().getAddress().getSocketAddress().getAddress(), l.getPriority());
            }
        }
        return out;
    }

    @Test
    void withOutlierDetectionEachProxyGetsPrioritiesByProximityToItsOwnLocality() {
        MeshSnapshot s = snapshot(rule(OUTLIER));
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 1, "10.0.0.3", 2, "10.0.0.4", 3, "10.0.0.5", 3),
                priorities(eds(at("us-east/a/s1"), s)));
        // Priorities are renumbered without gaps: nothing shares this proxy's zone but not its subzone... and so on.
        assertEquals(Map.of("10.0.0.1", 1, "10.0.0.2", 1, "10.0.0.3", 1, "10.0.0.4", 0, "10.0.0.5", 1),
                priorities(eds(at("us-west/a"), s)));
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 1, "10.0.0.4", 2, "10.0.0.5", 2),
                priorities(eds(at("us-east/a/s3"), s)));
    }

    @Test
    void theProxysLocalityComesFromItsTopologyLabelsBeforeItsNodesLocality() {
        MeshSnapshot s = snapshot(rule(OUTLIER));
        ProxyInfo labelled = at("eu/x", Map.of("topology.kubernetes.io/region", "us-west",
                "topology.kubernetes.io/zone", "a"));
        assertEquals(0, priorities(eds(labelled, s)).get("10.0.0.4"));
        ProxyInfo istioLocality = at("", Map.of("istio-locality", "us-east.b"));
        assertEquals(0, priorities(eds(istioLocality, s)).get("10.0.0.3"));
    }

    @Test
    void withoutOutlierDetectionOrWhenDisabledEveryLocalityStaysAtPriority0() {
        Map<String, Integer> flat = Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 0, "10.0.0.4", 0, "10.0.0.5", 0);
        assertEquals(flat, priorities(eds(at("us-east/a/s1"), snapshot(rule("connectionPool: {tcp: {maxConnections: 5}}\n")))));
        assertEquals(flat, priorities(eds(at("us-east/a/s1"),
                snapshot(rule(OUTLIER + "loadBalancer: {localityLbSetting: {enabled: false}}\n")))));
        MeshSettings off = new MeshSettings("cluster.local", PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY,
                new io.mesh.config.DestinationRule.LocalityLbSetting(false, List.of(), List.of(), List.of()));
        assertEquals(flat, priorities(eds(at("us-east/a/s1"), snapshot(rule(OUTLIER), off))));
        // A rule's own setting wins over the mesh-wide switch.
        assertEquals(3, priorities(eds(at("us-east/a/s1"), snapshot(rule(OUTLIER
                + "loadBalancer: {localityLbSetting: {enabled: true}}\n"), off))).get("10.0.0.4"));
    }

    @Test
    void failoverNamesTheRegionToTryBeforeAnyOther() {
        MeshSnapshot s = snapshot(rule(OUTLIER + """
                loadBalancer:
                  localityLbSetting:
                    failover: [{from: us-east, to: eu}]
                """));
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 1, "10.0.0.3", 2, "10.0.0.4", 4, "10.0.0.5", 3),
                priorities(eds(at("us-east/a/s1"), s)));
        Cluster c = cluster(at("us-east/a/s1"), s, CLUSTER);
        assertTrue(c.getCommonLbConfig().hasLocalityWeightedLbConfig(), "as istiod, with failover");
    }

    @Test
    void failoverPriorityRanksEndpointsByTheLeadingLabelsTheyShareWithTheProxy() {
        MeshSnapshot s = snapshot(rule(OUTLIER + """
                loadBalancer:
                  localityLbSetting:
                    failoverPriority: [topology.kubernetes.io/region, tier]
                """));
        // Same region and tier: 0; same region only: 1; other region: 2. Locality proximity plays no part.
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 1, "10.0.0.4", 2, "10.0.0.5", 2),
                priorities(eds(at("us-east/b", Map.of("tier", "gold")), s)));
        // "label=value" sets the value the proxy is taken to have.
        MeshSnapshot silver = snapshot(rule(OUTLIER + """
                loadBalancer:
                  localityLbSetting:
                    failoverPriority: [tier=silver]
                """));
        assertEquals(Map.of("10.0.0.1", 1, "10.0.0.2", 1, "10.0.0.3", 0, "10.0.0.4", 1, "10.0.0.5", 1),
                priorities(eds(at("us-east/a/s1", Map.of("tier", "gold")), silver)));
    }

    @Test
    void distributeWeighsTheNamedLocalitiesAndDropsTheOthersWithOrWithoutOutlierDetection() {
        MeshSnapshot s = snapshot(rule("""
                loadBalancer:
                  localityLbSetting:
                    distribute:
                    - from: us-east/a/*
                      to: {us-east/a/*: 80, us-west/*: 20}
                """));
        ClusterLoadAssignment cla = eds(at("us-east/a/s1"), s);
        Map<String, Integer> weights = new TreeMap<>();
        Map<String, Integer> sizes = new TreeMap<>();
        for (LocalityLbEndpoints l : cla.getEndpointsList()) {
            String name = l.getLocality().getRegion() + "/" + l.getLocality().getZone() + "/" + l.getLocality().getSubZone();
            weights.put(name, l.getLoadBalancingWeight().getValue());
            sizes.put(name, l.getLbEndpointsCount());
            assertEquals(0, l.getPriority());
        }
        // 80 over the two us-east/a subzones (one endpoint each), 20 to us-west; the rest keeps no endpoints.
        assertEquals(Map.of("us-east/a/s1", 40, "us-east/a/s2", 40, "us-west/a/", 20, "us-east/b/", 1, "eu/x/", 1),
                weights);
        assertEquals(Map.of("us-east/a/s1", 1, "us-east/a/s2", 1, "us-west/a/", 1, "us-east/b/", 0, "eu/x/", 0), sizes);
        assertTrue(cluster(at("us-east/a/s1"), s, CLUSTER).getCommonLbConfig().hasLocalityWeightedLbConfig());
        // A proxy the rule's "from" does not take gets the plain assignment.
        ClusterLoadAssignment other = eds(at("eu/x"), s);
        assertTrue(other.getEndpointsList().stream().allMatch(l -> l.getLbEndpointsCount() == 1
                && l.getLoadBalancingWeight().getValue() == 1), other.toString());
    }

    @Test
    void withOnlyTheMeshDefaultTheClusterIsNotLocalityWeighted() {
        assertFalse(cluster(at("us-east/a/s1"), snapshot(rule(OUTLIER)), CLUSTER).getCommonLbConfig()
                .hasLocalityWeightedLbConfig());
    }
}
