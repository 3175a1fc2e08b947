package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.LocalityLoadBalancingTest.CLUSTER;
import static io.mesh.pilot.generator.LocalityLoadBalancingTest.at;
import static io.mesh.pilot.generator.LocalityLoadBalancingTest.eds;
import static io.mesh.pilot.generator.LocalityLoadBalancingTest.priorities;
import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.mesh.config.ConfigValidator;
import io.mesh.config.PolicyConfig;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A service's traffic distribution in EDS, as istiod applies it (GetLocalityLbSetting in
 * pilot/pkg/networking/core/loadbalancer/loadbalancer.go): a {@code failoverPriority} over the topology labels, without
 * any need for outlier detection, relative to the asking proxy; a DestinationRule's {@code localityLbSetting} wins. Here
 * from a ServiceEntry's {@code networking.istio.io/traffic-distribution} annotation (Kubernetes Services:
 * {@code KubernetesTrafficDistributionTest}).
 */
class TrafficDistributionTest {
    /** The endpoints of LocalityLoadBalancingTest, on nodes (WorkloadEntry labels pass through, as in istiod). */
    static String entry(String annotation) {
        return """
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: web
                  namespace: demo
                  annotations: {networking.istio.io/traffic-distribution: %s}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: STATIC
                  endpoints:
                  - {address: 10.0.0.1, locality: us-east/a/s1, labels: {tier: gold, kubernetes.io/hostname: n1}}
                  - {address: 10.0.0.2, locality: us-east/a/s1, labels: {tier: gold, kubernetes.io/hostname: n2}}
                  - {address: 10.0.0.3, locality: us-east/a/s2, labels: {tier: silver}}
                  - {address: 10.0.0.4, locality: us-east/b}
                  - {address: 10.0.0.5, locality: eu/x}
                """.formatted(annotation);
    }

    static String rule(String trafficPolicy) {
        return """
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                """ + trafficPolicy.indent(4);
    }

    /** As {@code at}, with the node metadata NODE_NAME istio-agent sends. */
    static ProxyInfo on(String node, String locality) {
        ProxyInfo p = at(locality, Map.of("tier", "gold"));
        Node n = Node.newBuilder().setId(p.id()).setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
                .setRegion(locality.split("/")[0]).setZone(locality.split("/")[1]).setSubZone(locality.split("/")[2]))
                .setMetadata(Struct.newBuilder().putFields("NODE_NAME", Value.newBuilder().setStringValue(node).build()))
                .build();
        return ProxyInfo.from(n);
    }

    @Test
    void preferSameZoneRanksByRegionThenZoneWithoutOutlierDetection() {
        MeshSnapshot s = snapshot(entry("PreferSameZone"));
        // Same region and zone (subzone does not count): 0; same region: 1; elsewhere: 2.
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 0, "10.0.0.4", 1, "10.0.0.5", 2),
                priorities(eds(at("us-east/a/s9"), s)));
        assertEquals(Map.of("10.0.0.1", 1, "10.0.0.2", 1, "10.0.0.3", 1, "10.0.0.4", 0, "10.0.0.5", 2),
                priorities(eds(at("us-east/b"), s)));
        var lb = cluster(at("us-east/a/s9"), s, CLUSTER).getCommonLbConfig();
        assertTrue(lb.hasLocalityWeightedLbConfig(), "as istiod: the failover is forced, so the cluster is"
                + " locality-weighted");
        assertTrue(lb.hasHealthyPanicThreshold(), "as istiod: UNHEALTHY endpoints are sent, so no panic mode");
        assertEquals(0, lb.getHealthyPanicThreshold().getValue());
    }

    @Test
    void preferCloseIsPreferSameZoneAndTheAnnotationIgnoresCase() {
        Map<String, Integer> expected = priorities(eds(at("us-east/b"), snapshot(entry("PreferSameZone"))));
        assertEquals(expected, priorities(eds(at("us-east/b"), snapshot(entry("PreferClose")))));
        assertEquals(expected, priorities(eds(at("us-east/b"), snapshot(entry("preferclose")))));
    }

    @Test
    void preferSameNodeRanksByNodeThenSubzoneThenZoneThenRegion() {
        MeshSnapshot s = snapshot(entry("PreferSameNode"));
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 1, "10.0.0.3", 2, "10.0.0.4", 3, "10.0.0.5", 4),
                priorities(eds(on("n1", "us-east/a/s1"), s)));
        assertEquals(Map.of("10.0.0.1", 1, "10.0.0.2", 0, "10.0.0.3", 2, "10.0.0.4", 3, "10.0.0.5", 4),
                priorities(eds(on("n2", "us-east/a/s1"), s)));
        // A proxy whose node is unknown has no endpoint on its node: its subzone's come first.
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 1, "10.0.0.4", 2, "10.0.0.5", 3),
                priorities(eds(at("us-east/a/s1"), s)));
    }

    @Test
    void aDestinationRulesLocalityLbSettingWinsOverTheTrafficDistribution() {
        Map<String, Integer> flat = Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 0, "10.0.0.4", 0, "10.0.0.5", 0);
        // Its own failoverPriority (with outlier detection, as any rule needs).
        MeshSnapshot byTier = snapshot(entry("PreferSameZone") + rule("""
                outlierDetection: {consecutive5xxErrors: 3}
                loadBalancer: {localityLbSetting: {failoverPriority: [tier]}}
                """));
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 1, "10.0.0.4", 1, "10.0.0.5", 1),
                priorities(eds(at("us-east/b", Map.of("tier", "gold")), byTier)));
        // Its own setting without outlier detection: no failover at all, the traffic distribution does not come back.
        MeshSnapshot noOutlier = snapshot(entry("PreferSameZone") + rule("""
                loadBalancer: {localityLbSetting: {failover: [{from: us-east, to: eu}]}}
                """));
        assertEquals(flat, priorities(eds(at("us-east/b"), noOutlier)));
        assertFalse(cluster(at("us-east/b"), noOutlier, CLUSTER).getCommonLbConfig().hasLocalityWeightedLbConfig());
        // enabled: false turns everything off.
        assertEquals(flat, priorities(eds(at("us-east/b"), snapshot(entry("PreferSameZone") + rule("""
                loadBalancer: {localityLbSetting: {enabled: false}}
                """)))));
    }

    @Test
    void aRuleWithoutLocalityLbSettingOrTheMeshSwitchLeavesTheTrafficDistributionInForce() {
        Map<String, Integer> sameZone = Map.of("10.0.0.1", 1, "10.0.0.2", 1, "10.0.0.3", 1, "10.0.0.4", 0,
                "10.0.0.5", 2);
        assertEquals(sameZone, priorities(eds(at("us-east/b"), snapshot(entry("PreferSameZone")
                + rule("connectionPool: {tcp: {maxConnections: 5}}\n")))));
        MeshSettings off = new MeshSettings("cluster.local", PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY,
                new io.mesh.config.DestinationRule.LocalityLbSetting(false, List.of(), List.of(), List.of()));
        assertEquals(sameZone, priorities(eds(at("us-east/b"), snapshot(entry("PreferSameZone"), off))));
    }

    @Test
    void anUnknownValueIsIgnoredWithAValidationWarning() {
        RawResource raw = YamlDocuments.parse(entry("PreferFarAway"), "t.yaml").resources().get(0);
        ConfigValidator.Result r = ConfigValidator.validate(raw);
        assertTrue(r.valid(), r.reason());
        assertTrue(r.warnings().stream().anyMatch(w -> w.contains("unknown traffic distribution \"PreferFarAway\"")),
                r.warnings().toString());
        MeshSnapshot s = snapshot(entry("PreferFarAway"));
        assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 0, "10.0.0.4", 0, "10.0.0.5", 0),
                priorities(eds(at("us-east/b"), s)));
        assertFalse(cluster(at("us-east/b"), s, CLUSTER).getCommonLbConfig().hasLocalityWeightedLbConfig());
        assertFalse(cluster(at("us-east/b"), s, CLUSTER).getCommonLbConfig().hasHealthyPanicThreshold());
    }
}
