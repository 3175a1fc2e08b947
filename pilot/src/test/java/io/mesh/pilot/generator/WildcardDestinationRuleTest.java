package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import org.junit.jupiter.api.Test;

/**
 * DestinationRules whose host is a wildcard ({@code *.example.com}, {@code *.local}) apply to every service they take,
 * as in Istio: within a namespace the most specific host wins (the service's own name, else the longest wildcard),
 * and the namespaces are looked at in Istio's order (the proxy's, the service's, the root namespace).
 */
class WildcardDestinationRuleTest {
    static final ProxyInfo CLIENT = sidecar("10.0.0.9", "demo");

    static final String SERVICES = SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.1, labels: {version: v1}}")
            + SidecarFixtures.services("apis", "demo", "[api.example.com, www.example.com, shop.test]",
                    SidecarFixtures.HTTP_80, "{address: 10.0.0.2, labels: {version: v1}}");

    static String rule(String name, String namespace, String host, String policy) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: %s, namespace: %s}
                spec:
                  host: "%s"
                  trafficPolicy: %s
                """.formatted(name, namespace, host, policy);
    }

    static Cluster.LbPolicy lb(MeshSnapshot s, String host) {
        return cluster(CLIENT, s, "outbound|80||" + host).getLbPolicy();
    }

    @Test
    void aWildcardRuleAppliesToEveryServiceItTakesAndNoOther() {
        MeshSnapshot s = snapshot(SERVICES + rule("example", "demo", "*.example.com", "{loadBalancer: {simple: RANDOM}}"));
        assertEquals(Cluster.LbPolicy.RANDOM, lb(s, "api.example.com"));
        assertEquals(Cluster.LbPolicy.RANDOM, lb(s, "www.example.com"));
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, lb(s, "shop.test"), "the default");
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, lb(s, "web.demo.svc.cluster.local"), "the default");
    }

    @Test
    void theMostSpecificHostWinsWithinANamespace() {
        MeshSnapshot s = snapshot(SERVICES
                + rule("everything", "demo", "*", "{loadBalancer: {simple: ROUND_ROBIN}}")
                + rule("example", "demo", "*.example.com", "{loadBalancer: {simple: RANDOM}}")
                + rule("api", "demo", "api.example.com", "{loadBalancer: {simple: LEAST_REQUEST}, "
                        + "connectionPool: {tcp: {maxConnections: 7}}}"));
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, lb(s, "api.example.com"));
        assertEquals(7, cluster(CLIENT, s, "outbound|80||api.example.com").getCircuitBreakers().getThresholds(0)
                .getMaxConnections().getValue(), "the exact host's rule, not merged with the wildcards");
        assertEquals(Cluster.LbPolicy.RANDOM, lb(s, "www.example.com"));
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, lb(s, "shop.test"));
    }

    @Test
    void aMeshWideRuleInTheRootNamespaceAppliesWhereTheProxysNamespaceHasNone() {
        String meshWide = rule("mesh-wide", "istio-system", "*.local", "{loadBalancer: {simple: ROUND_ROBIN}}");
        MeshSnapshot s = snapshot(SERVICES + meshWide);
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, lb(s, "web.demo.svc.cluster.local"));
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, lb(s, "api.example.com"), "*.local does not take api.example.com");
        // A rule in the proxy's namespace comes first, even a wildcard one.
        MeshSnapshot local = snapshot(SERVICES + meshWide
                + rule("demo-wide", "demo", "*.demo.svc.cluster.local", "{loadBalancer: {simple: RANDOM}}"));
        assertEquals(Cluster.LbPolicy.RANDOM, lb(local, "web.demo.svc.cluster.local"));
    }

    @Test
    void aWildcardRulesSubsetsAndTlsApplyToEachServiceItTakes() {
        MeshSnapshot s = snapshot(SERVICES + "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: example, namespace: demo}
                spec:
                  host: "*.example.com"
                  trafficPolicy: {tls: {mode: SIMPLE}}
                  subsets:
                  - {name: v1, labels: {version: v1}}
                """);
        for (String host : new String[] {"api.example.com", "www.example.com"}) {
            Cluster subset = cluster(CLIENT, s, "outbound|80|v1|" + host);
            assertNotNull(subset, host);
            assertTrue(cluster(CLIENT, s, "outbound|80||" + host).hasTransportSocket(), host + ": TLS SIMPLE");
        }
        assertFalse(cluster(CLIENT, s, "outbound|80||shop.test").hasTransportSocket());
    }
}
