package io.mesh.pilot.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.mesh.pilot.model.MeshSnapshot;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule's {@code loadBalancer.warmup} (and the deprecated {@code warmupDurationSecs}) as istiod's setWarmup
 * and setSlowStartConfig write it: the round robin or least request balancer's {@code slow_start_config}, none for a
 * consistent hash.
 */
class WarmupTest {

    static Cluster cluster(String loadBalancer) {
        MeshSnapshot s = SidecarFixtures.snapshot(DestinationRulePolicyTest.SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    loadBalancer: %s
                """.formatted(loadBalancer));
        return DestinationRulePolicyTest.web(s, 80, null);
    }

    @Test
    void warmupIsTheDefaultLeastRequestsSlowStartWithItsAggressionAndMinimum() {
        Cluster c = cluster("{warmup: {duration: 45s, minimumPercent: 20, aggression: 2}}");
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, c.getLbPolicy());
        Cluster.SlowStartConfig s = c.getLeastRequestLbConfig().getSlowStartConfig();
        assertEquals(45, s.getSlowStartWindow().getSeconds());
        assertEquals(2.0, s.getAggression().getDefaultValue());
        assertEquals("(", s.getAggression().getRuntimeKey(), "istiod's key, which no runtime sets");
        assertEquals(20.0, s.getMinWeightPercent().getValue());

        Cluster defaults = cluster("{simple: ROUND_ROBIN, warmup: {duration: 10s}}");
        Cluster.SlowStartConfig d = defaults.getRoundRobinLbConfig().getSlowStartConfig();
        assertEquals(10, d.getSlowStartWindow().getSeconds());
        assertEquals(1.0, d.getAggression().getDefaultValue(), "istiod writes Envoy's defaults");
        assertEquals(10.0, d.getMinWeightPercent().getValue());
    }

    @Test
    void theDeprecatedWarmupDurationSecsSetsTheWindowOnly() {
        Cluster.SlowStartConfig s = cluster("{simple: ROUND_ROBIN, warmupDurationSecs: 30s}").getRoundRobinLbConfig()
                .getSlowStartConfig();
        assertEquals(30, s.getSlowStartWindow().getSeconds());
        assertFalse(s.hasAggression() || s.hasMinWeightPercent());
    }

    @Test
    void randomAndConsistentHashGetNoSlowStart() {
        Cluster random = cluster("{simple: RANDOM, warmup: {duration: 10s}}");
        assertFalse(random.hasRoundRobinLbConfig() || random.hasLeastRequestLbConfig());
        Cluster hash = cluster("{consistentHash: {httpHeaderName: x-user}, warmupDurationSecs: 10s}");
        assertEquals(Cluster.LbPolicy.RING_HASH, hash.getLbPolicy());
        assertTrue(!hash.hasLeastRequestLbConfig() && !hash.hasRoundRobinLbConfig());
    }
}
