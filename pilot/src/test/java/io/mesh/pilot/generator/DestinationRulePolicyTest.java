package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DestinationRule traffic policy as istiod applies it per cluster: port-level settings (replacing the rule's four
 * policies for their port), subsets over them, the upstream HTTP protocol (HTTP/2 for gRPC ports and on request),
 * the idle timeout, and every consistent-hash key as the route's hash policy.
 */
class DestinationRulePolicyTest {

    static final String SERVICES = SidecarFixtures.services("svc", "demo", "[web.demo.svc.cluster.local]",
            "[{number: 80, name: http, protocol: HTTP}, {number: 8443, name: https, protocol: HTTPS},"
                    + " {number: 9090, name: grpc, protocol: GRPC}]", "{address: 10.0.0.1, labels: {version: v2}}") + "---\n";

    static final ProxyInfo SIDECAR = sidecar("10.1.0.9", "demo");

    static Cluster web(MeshSnapshot s, int port, String subset) {
        return cluster(SIDECAR, s, "outbound|" + port + "|" + (subset == null ? "" : subset) + "|web.demo.svc.cluster.local");
    }

    @Test
    void portLevelSettingsReplaceTheRulesPolicyForTheirPortAndSubsetsApplyOverThem() {
        MeshSnapshot s = snapshot(SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    loadBalancer: {simple: LEAST_REQUEST}
                    connectionPool: {tcp: {maxConnections: 7}}
                    portLevelSettings:
                    - port: {number: 8443}
                      loadBalancer: {simple: RANDOM}
                      tls: {mode: SIMPLE, sni: web.example.com}
                  subsets:
                  - name: v2
                    labels: {version: v2}
                    trafficPolicy:
                      loadBalancer: {simple: ROUND_ROBIN}
                      portLevelSettings:
                      - port: {number: 9090}
                        outlierDetection: {consecutive5xxErrors: 3}
                """);
        Cluster http = web(s, 80, null);
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, http.getLbPolicy());
        assertEquals(7, http.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue());
        assertFalse(http.hasTransportSocket());

        Cluster https = web(s, 8443, null);
        assertEquals(Cluster.LbPolicy.RANDOM, https.getLbPolicy());
        assertTrue(https.hasTransportSocket(), "the port's TLS");
        assertFalse(https.hasCircuitBreakers(), "port-level settings do not inherit the rule's connection pool");

        Cluster v2 = web(s, 80, "v2");
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, v2.getLbPolicy(), "the subset's load balancer");
        assertEquals(7, v2.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue(), "the rule's pool");
        Cluster v2https = web(s, 8443, "v2");
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, v2https.getLbPolicy());
        assertTrue(v2https.hasTransportSocket(), "the rule's port-level TLS, under the subset's load balancer");
        Cluster v2grpc = web(s, 9090, "v2");
        assertEquals(3, v2grpc.getOutlierDetection().getConsecutive5Xx().getValue(), "the subset's port-level outlier");
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, v2grpc.getLbPolicy(), "the subset's port-level settings set no"
                + " load balancer: istiod's default");
        assertFalse(v2grpc.hasCircuitBreakers());
    }

    @Test
    void outlierCountsAreEnforcedAsIstiodSetsThemAndTheDeprecatedConsecutiveErrorsCountsGatewayErrors() {
        MeshSnapshot s = snapshot(SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    outlierDetection: {consecutiveErrors: 2, interval: 1s, baseEjectionTime: 1m}
                    portLevelSettings:
                    - port: {number: 8443}
                      outlierDetection: {consecutive5xxErrors: 4, consecutiveGatewayErrors: 0}
                """);
        var legacy = web(s, 80, null).getOutlierDetection();
        assertEquals(2, legacy.getConsecutiveGatewayFailure().getValue(), "consecutiveErrors counts 502/503/504");
        assertEquals(100, legacy.getEnforcingConsecutiveGatewayFailure().getValue(), "Envoy enforces it only when asked");
        assertEquals(0, legacy.getEnforcingConsecutive5Xx().getValue(), "5xx ejection off, as istiod sets it");
        assertEquals(0, legacy.getEnforcingSuccessRate().getValue());

        var explicit = web(s, 8443, null).getOutlierDetection();
        assertEquals(4, explicit.getConsecutive5Xx().getValue());
        assertEquals(100, explicit.getEnforcingConsecutive5Xx().getValue());
        assertEquals(0, explicit.getEnforcingConsecutiveGatewayFailure().getValue(), "0 turns gateway-error ejection off");
    }

    static HttpProtocolOptions protocol(Cluster c) {
        return unpack(c.getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
                HttpProtocolOptions.class);
    }

    @Test
    void grpcPortsAreHttp2UpstreamAndThePoolSetsUpgradeClientProtocolAndIdleTimeout() {
        MeshSnapshot plain = snapshot(SERVICES.replace("---\n", ""));
        assertTrue(protocol(web(plain, 9090, null)).getExplicitHttpConfig().hasHttp2ProtocolOptions(), "gRPC: HTTP/2");
        assertFalse(web(plain, 80, null).containsTypedExtensionProtocolOptions(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"), "HTTP: HTTP/1.1, no options");

        MeshSnapshot s = snapshot(SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    connectionPool: {http: {h2UpgradePolicy: UPGRADE, idleTimeout: 30s}}
                  subsets:
                  - name: v2
                    labels: {version: v2}
                    trafficPolicy:
                      connectionPool: {http: {useClientProtocol: true}}
                """);
        HttpProtocolOptions upgraded = protocol(web(s, 80, null));
        assertTrue(upgraded.getExplicitHttpConfig().hasHttp2ProtocolOptions(), "h2UpgradePolicy: UPGRADE");
        assertEquals(30, upgraded.getCommonHttpProtocolOptions().getIdleTimeout().getSeconds());
        assertTrue(protocol(web(s, 80, "v2")).hasUseDownstreamProtocolConfig(), "useClientProtocol");
    }

    @Test
    void theAppsGrpcPortIsReachedOverHttp2ByItsSidecar() {
        MeshSnapshot s = snapshot(SERVICES.replace("10.0.0.1", "10.1.0.9").replace("---\n", ""));
        assertTrue(protocol(cluster(SIDECAR, s, "inbound|9090||")).getExplicitHttpConfig().hasHttp2ProtocolOptions());
        assertFalse(cluster(SIDECAR, s, "inbound|80||").containsTypedExtensionProtocolOptions(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"));
    }

    static RouteAction.HashPolicy hashOf(String consistentHash) {
        MeshSnapshot s = snapshot(SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    loadBalancer: {consistentHash: %s}
                """.formatted(consistentHash));
        assertEquals(Cluster.LbPolicy.RING_HASH, web(s, 80, null).getLbPolicy());
        var web = routes(SIDECAR, s, "80").getVirtualHostsList().stream()
                .filter(vh -> vh.getName().equals("web.demo.svc.cluster.local:80")).findFirst().orElseThrow();
        List<RouteAction.HashPolicy> hashes = web.getRoutes(0).getRoute().getHashPolicyList();
        assertEquals(1, hashes.size(), hashes.toString());
        return hashes.get(0);
    }

    @Test
    void everyConsistentHashKeyBecomesTheRoutesHashPolicy() {
        assertEquals("x-user", hashOf("{httpHeaderName: x-user}").getHeader().getHeaderName());
        RouteAction.HashPolicy cookie = hashOf("{httpCookie: {name: session, path: /, ttl: 3600s}}");
        assertEquals("session", cookie.getCookie().getName());
        assertEquals("/", cookie.getCookie().getPath());
        assertEquals(3600, cookie.getCookie().getTtl().getSeconds());
        assertTrue(hashOf("{useSourceIp: true}").getConnectionProperties().getSourceIp());
        assertEquals("user", hashOf("{httpQueryParameterName: user}").getQueryParameter().getName());
    }
}
