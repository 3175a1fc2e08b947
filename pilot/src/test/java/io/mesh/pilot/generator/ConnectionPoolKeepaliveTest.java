package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.DestinationRulePolicyTest.SERVICES;
import static io.mesh.pilot.generator.DestinationRulePolicyTest.protocol;
import static io.mesh.pilot.generator.DestinationRulePolicyTest.web;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TcpKeepalive;
import io.mesh.pilot.model.MeshSnapshot;
import org.junit.jupiter.api.Test;

/**
 * DestinationRule {@code connectionPool.tcp.tcpKeepalive} and {@code maxConnectionDuration} as istiod's
 * applyConnectionPool writes them (istio/istio {@code pilot/pkg/networking/core/cluster_traffic_policy.go}): the
 * cluster's {@code upstream_connection_options.tcp_keepalive} (whole seconds, probes only when above 0) and the
 * HttpProtocolOptions' {@code common_http_protocol_options.max_connection_duration}.
 */
class ConnectionPoolKeepaliveTest {

    static final String RULE = SERVICES + """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: web, namespace: demo}
            spec:
              host: web.demo.svc.cluster.local
              trafficPolicy:
                connectionPool:
                  tcp:
                    maxConnectionDuration: 90s
                    tcpKeepalive: {probes: 4, time: 75s, interval: 2500ms}
                  http: {idleTimeout: 30s}
              subsets:
              - name: v2
                labels: {version: v2}
                trafficPolicy:
                  connectionPool: {tcp: {tcpKeepalive: {}}}
            """;

    @Test
    void tcpKeepaliveBecomesTheClustersUpstreamConnectionOptionsInWholeSeconds() {
        MeshSnapshot s = snapshot(RULE);
        TcpKeepalive k = web(s, 80, null).getUpstreamConnectionOptions().getTcpKeepalive();
        assertEquals(4, k.getKeepaliveProbes().getValue());
        assertEquals(75, k.getKeepaliveTime().getValue());
        assertEquals(2, k.getKeepaliveInterval().getValue(), "2500ms: whole seconds, as istiod's uint32(Seconds)");
        assertTrue(web(s, 9090, null).hasUpstreamConnectionOptions(), "every port of the service");
    }

    @Test
    void anEmptyTcpKeepaliveTurnsKeepaliveOnWithTheOsDefaults() {
        Cluster v2 = web(snapshot(RULE), 80, "v2");
        assertTrue(v2.getUpstreamConnectionOptions().hasTcpKeepalive());
        TcpKeepalive k = v2.getUpstreamConnectionOptions().getTcpKeepalive();
        assertFalse(k.hasKeepaliveProbes() || k.hasKeepaliveTime() || k.hasKeepaliveInterval(), k.toString());
    }

    @Test
    void maxConnectionDurationIsTheHttpProtocolOptionsMaxConnectionDurationBesideTheIdleTimeout() {
        MeshSnapshot s = snapshot(RULE);
        var common = protocol(web(s, 80, null)).getCommonHttpProtocolOptions();
        assertEquals(90, common.getMaxConnectionDuration().getSeconds());
        assertEquals(30, common.getIdleTimeout().getSeconds());
        var grpc = protocol(web(s, 9090, null));
        assertEquals(90, grpc.getCommonHttpProtocolOptions().getMaxConnectionDuration().getSeconds());
        assertTrue(grpc.getExplicitHttpConfig().hasHttp2ProtocolOptions(), "gRPC stays HTTP/2");
        assertFalse(web(s, 80, "v2").containsTypedExtensionProtocolOptions(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"), "the subset's pool replaces the rule's");
    }

    @Test
    void tcpIdleTimeoutIsTheHttpIdleTimeoutWhenHttpSetsNone() {
        MeshSnapshot s = snapshot(SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    connectionPool: {tcp: {idleTimeout: 20s}}
                  subsets:
                  - name: v2
                    labels: {version: v2}
                    trafficPolicy:
                      connectionPool: {tcp: {idleTimeout: 20s}, http: {idleTimeout: 7s}}
                """);
        assertEquals(20, protocol(web(s, 80, null)).getCommonHttpProtocolOptions().getIdleTimeout().getSeconds(),
                "istiod's applyConnectionPool: tcp.idleTimeout when http.idleTimeout is unset");
        assertEquals(20, protocol(web(s, 9090, null)).getCommonHttpProtocolOptions().getIdleTimeout().getSeconds());
        assertEquals(7, protocol(web(s, 80, "v2")).getCommonHttpProtocolOptions().getIdleTimeout().getSeconds(),
                "http.idleTimeout wins");
    }

    @Test
    void maxConcurrentStreamsGoesOnTheHttp2OptionsAnHttp2PortGivesTheCluster() {
        MeshSnapshot s = snapshot(SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    connectionPool: {http: {maxConcurrentStreams: 16}}
                  subsets:
                  - name: v2
                    labels: {version: v2}
                    trafficPolicy:
                      connectionPool: {http: {maxConcurrentStreams: 8, h2UpgradePolicy: UPGRADE}}
                """);
        assertEquals(16, protocol(web(s, 9090, null)).getExplicitHttpConfig().getHttp2ProtocolOptions()
                .getMaxConcurrentStreams().getValue(), "the gRPC port's cluster is HTTP/2");
        assertFalse(web(s, 80, null).containsTypedExtensionProtocolOptions(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"), "an HTTP/1.1 cluster has no streams to limit");
        var upgraded = protocol(web(s, 80, "v2")).getExplicitHttpConfig().getHttp2ProtocolOptions();
        assertFalse(upgraded.hasMaxConcurrentStreams(), "istiod upgrades (applyH2Upgrade) after applying the pool");
        assertEquals(8, protocol(web(s, 9090, "v2")).getExplicitHttpConfig().getHttp2ProtocolOptions()
                .getMaxConcurrentStreams().getValue());
    }

    @Test
    void withoutThemTheClusterHasNeither() {
        MeshSnapshot plain = snapshot(SERVICES.replace("---\n", ""));
        Cluster c = web(plain, 80, null);
        assertFalse(c.hasUpstreamConnectionOptions());
        assertFalse(c.containsTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"));
    }
}
