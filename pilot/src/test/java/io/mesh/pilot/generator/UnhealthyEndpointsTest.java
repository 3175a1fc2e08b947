package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.PolicyConfig;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.model.SnapshotBuilder;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * istiod's PILOT_SEND_UNHEALTHY_ENDPOINTS (pilot/pkg/features; Service.SupportsUnhealthyEndpoints in
 * pilot/pkg/model/service.go) and the panic threshold it and outlier detection set (applyOutlierDetection and
 * applyLoadBalancer in pilot/pkg/networking/core/cluster_traffic_policy.go): a Kubernetes Service with a ready, a
 * not-ready and a terminating pod.
 */
class UnhealthyEndpointsTest {
    static final String HOST = "web.demo.svc.cluster.local";
    static final String CLUSTER = "outbound|80||" + HOST;
    static final ProxyInfo SIDECAR = SidecarFixtures.sidecar("10.1.0.9", "demo");
    static final MeshSettings SEND_UNHEALTHY = new MeshSettings("cluster.local",
            PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY, null, MeshSettings.STDOUT, 1.0, true);

    static MeshSnapshot snapshot(String yaml, MeshSettings mesh) {
        Map<ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(yaml, "test.yaml").resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors(), raw.key().toString());
            config.put(raw.key(), r.model());
        }
        ServiceModel web = new ServiceModel(HOST, "demo", List.of(new ServiceModel.Port("http", 80, "HTTP")), false,
                "Service/demo/web", List.of("10.96.0.10"), List.of(), false);
        List<Endpoint> pods = List.of(pod("10.1.0.1", Endpoint.Health.HEALTHY), pod("10.1.0.2", Endpoint.Health.UNHEALTHY),
                pod("10.1.0.3", Endpoint.Health.TERMINATING));
        return SnapshotBuilder.build(1, config, new ServiceSource.View(List.of(web), Map.of(HOST, pods)), Map.of(), mesh);
    }

    static Endpoint pod(String ip, Endpoint.Health health) {
        return new Endpoint(ip, Map.of(80, 8080), Map.of("app", "web"), "", 1, health, "web");
    }

    static Map<String, HealthStatus> eds(MeshSnapshot s) {
        List<ClusterLoadAssignment> out = EndpointGenerator.generate(SIDECAR, s, Set.of(CLUSTER));
        Map<String, HealthStatus> by = new TreeMap<>();
        out.get(0).getEndpointsList().forEach(l -> l.getLbEndpointsList().forEach(e -> by.put(
                e.getEndpoint().getAddress().getSocketAddress().getAddress(), e.getHealthStatus())));
        return by;
    }

    static String rule(String outlier) {
        return """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    outlierDetection: %s
                """.formatted(outlier);
    }

    @Test
    void byDefaultNotReadyEndpointsStayOutOfEdsAndTheClusterKeepsEnvoysPanicDefault() {
        MeshSnapshot s = snapshot("", MeshSettings.DEFAULT);
        assertEquals(Map.of("10.1.0.1", HealthStatus.HEALTHY), eds(s));
        assertFalse(cluster(SIDECAR, s, CLUSTER).getCommonLbConfig().hasHealthyPanicThreshold());
    }

    @Test
    void sendUnhealthyEndpointsSendsEveryServicesNotReadyEndpointsAsUnhealthyNeverTerminatingOnesAndTurnsPanicOff() {
        MeshSnapshot s = snapshot("", SEND_UNHEALTHY);
        assertEquals(Map.of("10.1.0.1", HealthStatus.HEALTHY, "10.1.0.2", HealthStatus.UNHEALTHY), eds(s));
        Cluster.CommonLbConfig lb = cluster(SIDECAR, s, CLUSTER).getCommonLbConfig();
        assertTrue(lb.hasHealthyPanicThreshold());
        assertEquals(0, lb.getHealthyPanicThreshold().getValue());
    }

    @Test
    void outlierDetectionSetsThePanicThresholdToMinHealthPercentZeroWhenUnset() {
        Cluster.CommonLbConfig lb = cluster(SIDECAR, snapshot(rule("{consecutive5xxErrors: 3}"), MeshSettings.DEFAULT),
                CLUSTER).getCommonLbConfig();
        assertTrue(lb.hasHealthyPanicThreshold(), "istiod sets it even to 0 (Envoy's default would be 50)");
        assertEquals(0, lb.getHealthyPanicThreshold().getValue());
        lb = cluster(SIDECAR, snapshot(rule("{consecutive5xxErrors: 3, minHealthPercent: 30}"), MeshSettings.DEFAULT),
                CLUSTER).getCommonLbConfig();
        assertEquals(30, lb.getHealthyPanicThreshold().getValue());
    }

    @Test
    void aServiceThatSendsUnhealthyEndpointsNeverPanicsWhateverMinHealthPercentSays() {
        Cluster.CommonLbConfig lb = cluster(SIDECAR, snapshot(rule("{consecutive5xxErrors: 3, minHealthPercent: 30}"),
                SEND_UNHEALTHY), CLUSTER).getCommonLbConfig();
        assertEquals(0, lb.getHealthyPanicThreshold().getValue());
    }

    @Test
    void minHealthPercentMustBeAPercentage() {
        RawResource raw = YamlDocuments.parse(rule("{minHealthPercent: 101}"), "t.yaml").resources().get(0);
        ConfigValidator.Result r = ConfigValidator.validate(raw);
        assertFalse(r.valid());
        assertTrue(r.reason().contains("minHealthPercent") && r.reason().contains("must be between 0 and 100"),
                r.reason());
    }
}
