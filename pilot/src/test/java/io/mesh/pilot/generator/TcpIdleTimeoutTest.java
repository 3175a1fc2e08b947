package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * tcp_proxy's {@code idle_timeout} where istiod sets it: a chain to a service takes its DestinationRule's
 * {@code connectionPool.tcp.idleTimeout} (top-level policy only), else the proxy's node metadata {@code IDLE_TIMEOUT};
 * inbound and catch-all chains take the node metadata only; with neither there is none (Envoy's default, 1h).
 */
class TcpIdleTimeoutTest {
    static final ProxyInfo POD = SidecarFixtures.sidecar("10.0.0.1", "demo");

    /**
     * db (DestinationRule: 30s; its subset's 5s is not read), cache (no rule), legacy (0s: disabled), queue (a tcp
     * route weighted over db then queue: db's rule), and web, whose endpoint is the pod (a rule of 45s, which its
     * inbound chain does not take).
     */
    static final String MESH = service("db", "198.51.100.100", 9000) + service("cache", "198.51.100.101", 6379)
            + service("legacy", "198.51.100.102", 7000) + service("queue", "198.51.100.103", 5672)
            + SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]",
                    "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.0.1}")
            + rule("db", "{tcp: {idleTimeout: 30s}}", """
                      subsets:
                      - name: v1
                        labels: {version: v1}
                        trafficPolicy: {connectionPool: {tcp: {idleTimeout: 5s}}}
                    """)
            + rule("legacy", "{tcp: {idleTimeout: 0s}}", "") + rule("web", "{tcp: {idleTimeout: 45s}}", "") + """
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

    static String service(String name, String address, int port) {
        return SidecarFixtures.services(name, "demo", "[" + name + ".demo.svc.cluster.local]",
                "[{number: " + port + ", name: tcp, protocol: TCP}]", "{address: 10.0.1.1, labels: {version: v1}}")
                .replace("  location:", "  addresses: [" + address + "]\n  location:");
    }

    static String rule(String name, String pool, String more) {
        return """
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: %1$s, namespace: demo}
                spec:
                  host: %1$s.demo.svc.cluster.local
                  trafficPolicy:
                    connectionPool: %2$s
                %3$s
                """.formatted(name, pool, more);
    }

    /** The tcp_proxy of a chain (its last filter). */
    static TcpProxy tcp(FilterChain chain) {
        assertEquals(SidecarListenerGenerator.TCP_PROXY, chain.getFilters(chain.getFiltersCount() - 1).getName());
        return unpack(chain.getFilters(chain.getFiltersCount() - 1).getTypedConfig(), TcpProxy.class);
    }

    /** A listener's one tcp_proxy's idle timeout in ms; null when it has none (Envoy's default, 1h). */
    static Long idleMs(Listener l) {
        assertEquals(1, l.getFilterChainsCount(), l.getName());
        return idleMs(l.getFilterChains(0));
    }

    static Long idleMs(FilterChain c) {
        TcpProxy t = tcp(c);
        return t.hasIdleTimeout() ? t.getIdleTimeout().getSeconds() * 1000 + t.getIdleTimeout().getNanos() / 1_000_000 : null;
    }

    static FilterChain chain(Listener l, String name) {
        return l.getFilterChainsList().stream().filter(c -> c.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(l.getName() + " has no chain " + name));
    }

    @Test
    void aSidecarsOutboundChainsTakeTheirDestinationRulesTcpIdleTimeoutAndTheOthersNone() {
        MeshSnapshot s = snapshot(MESH);
        assertEquals(30_000L, idleMs(listener(POD, s, "198.51.100.100_9000")), "db's rule, not its subset's");
        assertEquals(null, idleMs(listener(POD, s, "198.51.100.101_6379")), "no rule: none, Envoy's 1h");
        assertEquals(0L, idleMs(listener(POD, s, "198.51.100.102_7000")), "0s: set, and disabled");
        TcpProxy weighted = tcp(listener(POD, s, "198.51.100.103_5672").getFilterChains(0));
        assertEquals(2, weighted.getWeightedClusters().getClustersCount());
        assertEquals(30, weighted.getIdleTimeout().getSeconds(), "the first destination's host's rule (db)");
        assertEquals(null, idleMs(chain(listener(POD, s, "virtualOutbound"), "PassthroughFilterChain")),
                "the catch-all chain reads no rule");
        Listener inbound = listener(POD, s, "virtualInbound");
        FilterChain web = chain(inbound, ClusterNames.inbound(5432) + SidecarInbound.PLAINTEXT_SUFFIX);
        assertEquals(null, idleMs(web), "inbound chains read no rule (web's 45s is for its clients)");
    }

    @Test
    void theProxysIdleTimeoutMetadataTakesEveryChainNoDestinationRuleSetsOneFor() {
        ProxyInfo pod = ProxyInfo.from(Node.newBuilder().setId(POD.id()).setMetadata(Struct.newBuilder()
                .putFields("IDLE_TIMEOUT", Value.newBuilder().setStringValue("10m").build())).build());
        MeshSnapshot s = snapshot(MESH);
        assertEquals(600_000L, idleMs(listener(pod, s, "198.51.100.101_6379")));
        assertEquals(600_000L, idleMs(chain(listener(pod, s, "virtualOutbound"), "PassthroughFilterChain")));
        assertEquals(600_000L, idleMs(chain(listener(pod, s, "virtualInbound"),
                ClusterNames.inbound(5432) + SidecarInbound.PLAINTEXT_SUFFIX)));
        assertEquals(30_000L, idleMs(listener(pod, s, "198.51.100.100_9000")), "a rule's wins");
        assertEquals(0L, idleMs(listener(pod, s, "198.51.100.102_7000")), "a rule's 0s wins too");

        ProxyInfo garbled = ProxyInfo.from(Node.newBuilder().setId(POD.id()).setMetadata(Struct.newBuilder()
                .putFields("IDLE_TIMEOUT", Value.newBuilder().setStringValue("soon").build())).build());
        assertEquals(null, idleMs(listener(garbled, s, "198.51.100.101_6379")), "not a duration: ignored, as istiod");
    }

    static final String EDGE = """
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 31400, name: tcp, protocol: TCP}
                hosts: ["*"]
              - port: {number: 10443, name: tls-passthrough, protocol: TLS}
                hosts: ["*.example.com"]
                tls: {mode: PASSTHROUGH}
              - port: {number: 15443, name: tls-sni, protocol: TLS}
                hosts: ["db.demo.svc.cluster.local"]
                tls: {mode: AUTO_PASSTHROUGH}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: edge, namespace: demo}
            spec:
              hosts: [db.example.com, cache.example.com]
              gateways: [istio-system/edge]
              tcp:
              - match: [{port: 31400}]
                route: [{destination: {host: db}}]
              tls:
              - match: [{sniHosts: [db.example.com]}]
                route: [{destination: {host: db}}]
              - match: [{sniHosts: [cache.example.com]}]
                route: [{destination: {host: cache}}]
            """;

    @Test
    void aGatewaysTcpPassthroughAndAutoPassthroughChainsTakeTheirDestinationsRule() {
        ProxyInfo router = GeneratorGoldenTest.router();
        MeshSnapshot s = snapshot(MESH + EDGE);
        assertEquals(30_000L, idleMs(listener(router, s, "0.0.0.0_31400")), "the TCP server's route to db");
        Listener passthrough = listener(router, s, "0.0.0.0_10443");
        assertEquals(List.of(30_000L, -1L), passthrough.getFilterChainsList().stream()
                .map(c -> idleMs(c) == null ? -1L : idleMs(c)).toList(), "db.example.com to db, cache.example.com to cache");
        Listener sni = listener(router, s, "0.0.0.0_15443");
        assertFalse(sni.getFilterChainsList().isEmpty());
        for (FilterChain c : sni.getFilterChainsList()) {
            assertTrue(c.getFilterChainMatch().getServerNames(0).endsWith("db.demo.svc.cluster.local"));
            assertEquals(30_000L, idleMs(c), "AUTO_PASSTHROUGH, subset chains too: the rule's top-level policy");
        }
    }
}
