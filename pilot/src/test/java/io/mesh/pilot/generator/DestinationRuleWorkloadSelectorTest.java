package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.HttpRouteTranslationTest.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.mesh.config.ConfigValidator;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule with a {@code workloadSelector} applies only to the outbound traffic of the workloads it selects
 * in its own namespace, as in Istio ("applied only to the workload instances matching the workload selector label in
 * the same namespace"); it wins over the namespace's rule without a selector for them, and the others keep that one.
 */
class DestinationRuleWorkloadSelectorTest {
    static final String WEB = "outbound|80||web.demo.svc.cluster.local";
    static final String SERVICE = SidecarFixtures.services("web", "demo", "[web.demo.svc.cluster.local]",
            SidecarFixtures.HTTP_80, "{address: 10.0.0.1}");

    static String rule(String name, String selector, String lb) {
        return "---\n" + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: %s, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  %s
                  trafficPolicy: {loadBalancer: {simple: %s}}
                """.formatted(name, selector == null ? "" : "workloadSelector: {matchLabels: " + selector + "}", lb);
    }

    static Cluster.LbPolicy lb(ProxyInfo proxy, MeshSnapshot s) {
        return cluster(proxy, s, WEB).getLbPolicy();
    }

    @Test
    void theSelectedWorkloadsGetTheirRuleAndTheOthersTheNamespacesRule() {
        MeshSnapshot s = snapshot(SERVICE + rule("for-client", "{app: client}", "RANDOM")
                + rule("for-everyone", null, "ROUND_ROBIN"));
        assertEquals(Cluster.LbPolicy.RANDOM, lb(sidecar("demo", Map.of("app", "client", "version", "v1")), s));
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, lb(sidecar("demo", Map.of("app", "other")), s));
        // Selectors do not cross namespaces: a client elsewhere gets the service namespace's rule without one.
        assertEquals(Cluster.LbPolicy.ROUND_ROBIN, lb(sidecar("shop", Map.of("app", "client")), s));
    }

    @Test
    void aRuleWithASelectorAloneChangesNothingForTheWorkloadsItDoesNotSelect() {
        MeshSnapshot s = snapshot(SERVICE + rule("for-client", "{app: client}", "RANDOM"));
        assertEquals(Cluster.LbPolicy.RANDOM, lb(sidecar("demo", Map.of("app", "client")), s));
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, lb(sidecar("demo", Map.of("app", "other")), s), "the default");
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, lb(sidecar("shop", Map.of("app", "client")), s), "the default");
    }

    @Test
    void theSelectorIsIstiosMatchLabelsAndAnythingElseInItIsRejected() {
        ConfigValidator.Result r = ConfigValidator.validate(YamlDocuments.parse("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: bad, namespace: demo}
                spec:
                  host: web
                  workloadSelector: {labels: {app: client}}
                """, "test.yaml").resources().get(0));
        assertTrue(!r.valid() && r.errors().toString().contains("spec.workloadSelector.labels"), r.errors().toString());
    }
}
