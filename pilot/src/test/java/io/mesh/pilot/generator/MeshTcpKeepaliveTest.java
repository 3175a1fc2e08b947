package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.DestinationRulePolicyTest.SERVICES;
import static io.mesh.pilot.generator.DestinationRulePolicyTest.web;
import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TcpKeepalive;
import io.mesh.config.DestinationRule;
import io.mesh.config.PolicyConfig;
import io.mesh.pilot.PilotConfig;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * MeshConfig {@code tcpKeepalive} as istiod's applyTCPKeepalive applies it (istio/istio
 * {@code pilot/pkg/networking/core/cluster_traffic_policy.go}): on every cluster it applies a connection pool to
 * (outbound, inbound, PassthroughCluster; not BlackHoleCluster, not proxyless gRPC), the mesh's fields first and a
 * DestinationRule's {@code connectionPool.tcp.tcpKeepalive} overriding those it sets; read from
 * {@code mesh.pilot.tcp-keepalive.*} and validated as a DestinationRule's.
 */
class MeshTcpKeepaliveTest {

    static MeshSettings mesh(DestinationRule.TcpKeepalive k) {
        return new MeshSettings("cluster.local", PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY, null, MeshSettings.STDOUT,
                1.0, false, k);
    }

    static final MeshSettings MESH_WIDE = mesh(new DestinationRule.TcpKeepalive(3, Duration.ofSeconds(60), null));

    /** web's sidecar pod 10.0.0.1 has inbound clusters: the services' endpoint is the pod. */
    static final ProxyInfo POD = SidecarFixtures.sidecar("10.0.0.1", "demo");

    static TcpKeepalive keepalive(Cluster c) {
        assertTrue(c.getUpstreamConnectionOptions().hasTcpKeepalive(), c.getName() + " has no tcp_keepalive");
        return c.getUpstreamConnectionOptions().getTcpKeepalive();
    }

    @Test
    void theMeshsKeepaliveIsOnEveryOutboundInboundAndPassthroughClusterWithoutADestinationRule() {
        MeshSnapshot s = snapshot(SERVICES.replace("---\n", ""), MESH_WIDE);
        TcpKeepalive out = keepalive(web(s, 80, null));
        assertEquals(3, out.getKeepaliveProbes().getValue());
        assertEquals(60, out.getKeepaliveTime().getValue());
        assertFalse(out.hasKeepaliveInterval());
        assertEquals(60, keepalive(cluster(POD, s, "inbound|80||")).getKeepaliveTime().getValue(), "inbound too");
        assertEquals(60, keepalive(cluster(POD, s, ClusterGenerator.PASSTHROUGH)).getKeepaliveTime().getValue());
        assertFalse(cluster(POD, s, ClusterGenerator.BLACK_HOLE).hasUpstreamConnectionOptions(), "istiod: not there");
        ProxyInfo grpc = SidecarFixtures.grpc();
        Cluster proxyless = cluster(grpc, s, "outbound|80||web.demo.svc.cluster.local");
        assertFalse(proxyless.hasUpstreamConnectionOptions(), "not for proxyless gRPC");
    }

    @Test
    void aDestinationRulesKeepaliveOverridesTheMeshsFieldByField() {
        MeshSnapshot s = snapshot(SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    connectionPool: {tcp: {tcpKeepalive: {time: 75s, interval: 10s}}}
                  subsets:
                  - name: v2
                    labels: {version: v2}
                    trafficPolicy:
                      connectionPool: {tcp: {tcpKeepalive: {}}}
                  - name: v3
                    labels: {version: v3}
                    trafficPolicy:
                      connectionPool: {tcp: {maxConnections: 5}}
                """, MESH_WIDE);
        TcpKeepalive k = keepalive(web(s, 80, null));
        assertEquals(75, k.getKeepaliveTime().getValue(), "the rule's time");
        assertEquals(10, k.getKeepaliveInterval().getValue(), "the rule's interval");
        assertEquals(3, k.getKeepaliveProbes().getValue(), "the mesh's probes: the rule sets none");
        TcpKeepalive empty = keepalive(web(s, 80, "v2"));
        assertEquals(60, empty.getKeepaliveTime().getValue(), "an empty rule keepalive overrides nothing");
        assertEquals(3, empty.getKeepaliveProbes().getValue());
        assertEquals(60, keepalive(web(s, 80, "v3")).getKeepaliveTime().getValue(), "a pool without keepalive");
    }

    @Test
    void anEmptyMeshKeepaliveTurnsItOnWithTheOsDefaultsAndNoneLeavesClustersAlone() {
        MeshSnapshot on = snapshot(SERVICES.replace("---\n", ""), mesh(new DestinationRule.TcpKeepalive(null, null, null)));
        TcpKeepalive k = keepalive(web(on, 80, null));
        assertFalse(k.hasKeepaliveProbes() || k.hasKeepaliveTime() || k.hasKeepaliveInterval(), k.toString());
        MeshSnapshot off = snapshot(SERVICES.replace("---\n", ""), mesh(null));
        assertFalse(web(off, 80, null).hasUpstreamConnectionOptions());
        assertFalse(cluster(POD, off, ClusterGenerator.PASSTHROUGH).hasUpstreamConnectionOptions());
    }

    @Test
    void aMeshKeepaliveIsValidatedAsADestinationRulesIs() {
        IllegalArgumentException time = assertThrows(IllegalArgumentException.class,
                () -> mesh(new DestinationRule.TcpKeepalive(null, Duration.ofNanos(500_000), null)));
        assertTrue(time.getMessage().contains("tcpKeepalive.time") && time.getMessage().contains("at least 1ms"),
                time.getMessage());
        IllegalArgumentException precision = assertThrows(IllegalArgumentException.class,
                () -> mesh(new DestinationRule.TcpKeepalive(null, null, Duration.ofNanos(1_500_000))));
        assertTrue(precision.getMessage().contains("tcpKeepalive.interval"), precision.getMessage());
        IllegalArgumentException probes = assertThrows(IllegalArgumentException.class,
                () -> mesh(new DestinationRule.TcpKeepalive(-1, null, null)));
        assertTrue(probes.getMessage().contains("tcpKeepalive.probes"), probes.getMessage());
    }

    static PilotConfig.MeshTcpKeepalive config(Map<String, String> props) {
        return new SmallRyeConfigBuilder().withMapping(PilotConfig.class)
                .withConverter(Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withSources(new PropertiesConfigSource(props, "test", 500)).build()
                .getConfigMapping(PilotConfig.class).tcpKeepalive();
    }

    @Test
    void theSettingsAreOffByDefaultOnWhenEnabledOrAnyFieldIsSet() {
        assertNull(config(Map.of()).toKeepalive(), "Istio's default: none");
        assertEquals(new DestinationRule.TcpKeepalive(null, null, null),
                config(Map.of("mesh.pilot.tcp-keepalive.enabled", "true")).toKeepalive());
        assertEquals(new DestinationRule.TcpKeepalive(4, Duration.ofSeconds(90), Duration.ofSeconds(15)),
                config(Map.of("mesh.pilot.tcp-keepalive.time", "90s", "mesh.pilot.tcp-keepalive.interval", "15s",
                        "mesh.pilot.tcp-keepalive.probes", "4")).toKeepalive());
    }
}
