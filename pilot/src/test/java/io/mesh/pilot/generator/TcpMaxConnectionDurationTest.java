package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.TcpIdleTimeoutTest.chain;
import static io.mesh.pilot.generator.TcpIdleTimeoutTest.rule;
import static io.mesh.pilot.generator.TcpIdleTimeoutTest.service;
import static io.mesh.pilot.generator.TcpIdleTimeoutTest.tcp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import org.junit.jupiter.api.Test;

/**
 * DestinationRule {@code connectionPool.tcp.maxConnectionDuration} as the tcp_proxy's
 * {@code max_downstream_connection_duration}, where istiod's networkfilter.go sets it: on the chains to a service, from
 * the rule the proxy applies to it (top-level policy only, the first destination's host for a weighted route), beside
 * the idle timeout; never on inbound or catch-all chains, and never from node metadata.
 */
class TcpMaxConnectionDurationTest {
    static final ProxyInfo POD = TcpIdleTimeoutTest.POD;

    /** db: 2h (its subset's 5m is not read); cache: no rule; queue: weighted over db then queue; web: the pod's own. */
    static final String MESH = service("db", "198.51.100.100", 9000) + service("cache", "198.51.100.101", 6379)
            + service("queue", "198.51.100.103", 5672)
            + SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]",
                    "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.0.1}")
            + rule("db", "{tcp: {maxConnectionDuration: 2h, idleTimeout: 30s}}", """
                      subsets:
                      - name: v1
                        labels: {version: v1}
                        trafficPolicy: {connectionPool: {tcp: {maxConnectionDuration: 5m}}}
                    """)
            + rule("web", "{tcp: {maxConnectionDuration: 45s}}", "") + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: queue, namespace: demo}
            spec:
              hosts: [queue.demo.svc.cluster.local]
              tcp:
              - route:
                - {destination: {host: db, subset: v1}, weight: 90}
                - {destination: {host: queue}, weight: 10}
            """;

    /** A chain's tcp_proxy's max_downstream_connection_duration in seconds; null when it has none. */
    static Long maxSeconds(FilterChain c) {
        TcpProxy t = tcp(c);
        return t.hasMaxDownstreamConnectionDuration() ? t.getMaxDownstreamConnectionDuration().getSeconds() : null;
    }

    static Long maxSeconds(Listener l) {
        assertEquals(1, l.getFilterChainsCount(), l.getName());
        return maxSeconds(l.getFilterChains(0));
    }

    @Test
    void aSidecarsChainToAServiceTakesItsRulesMaxConnectionDurationBesideItsIdleTimeout() {
        MeshSnapshot s = snapshot(MESH);
        TcpProxy db = tcp(listener(POD, s, "198.51.100.100_9000").getFilterChains(0));
        assertEquals(7200, db.getMaxDownstreamConnectionDuration().getSeconds(), "the rule's, not its subset's 5m");
        assertEquals(30, db.getIdleTimeout().getSeconds());
        assertEquals(null, maxSeconds(listener(POD, s, "198.51.100.101_6379")), "no rule: none");
        TcpProxy weighted = tcp(listener(POD, s, "198.51.100.103_5672").getFilterChains(0));
        assertEquals(2, weighted.getWeightedClusters().getClustersCount());
        assertEquals(7200, weighted.getMaxDownstreamConnectionDuration().getSeconds(),
                "the first destination's host's rule (db)");
    }

    @Test
    void inboundAndCatchAllChainsHaveNone() {
        MeshSnapshot s = snapshot(MESH);
        assertEquals(null, maxSeconds(chain(listener(POD, s, "virtualOutbound"), "PassthroughFilterChain")));
        assertEquals(null, maxSeconds(chain(listener(POD, s, "virtualInbound"),
                ClusterNames.inbound(5432) + SidecarInbound.PLAINTEXT_SUFFIX)), "web's 45s is for its clients");
    }

    @Test
    void aGatewaysTcpPassthroughAndAutoPassthroughChainsTakeTheirDestinationsRule() {
        ProxyInfo router = GeneratorGoldenTest.router();
        MeshSnapshot s = snapshot(MESH + TcpIdleTimeoutTest.EDGE);
        assertEquals(7200L, maxSeconds(listener(router, s, "0.0.0.0_31400")), "the TCP server's route to db");
        Listener passthrough = listener(router, s, "0.0.0.0_10443");
        assertEquals(java.util.List.of(7200L, -1L), passthrough.getFilterChainsList().stream()
                .map(c -> maxSeconds(c) == null ? -1L : maxSeconds(c)).toList(), "db.example.com to db, cache to none");
        Listener sni = listener(router, s, "0.0.0.0_15443");
        assertFalse(sni.getFilterChainsList().isEmpty());
        for (FilterChain c : sni.getFilterChainsList()) {
            assertTrue(c.getFilterChainMatch().getServerNames(0).endsWith("db.demo.svc.cluster.local"));
            assertEquals(7200L, maxSeconds(c), "AUTO_PASSTHROUGH, subset chains too: the rule's top-level policy");
        }
    }
}
