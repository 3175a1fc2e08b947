package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Event;
import io.mesh.config.Telemetry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode: Telemetry resources applied by the real kubectl (the repository's CRD) reach pilot's snapshot, and an
 * update and a delete follow; an invalid one is left out with a Warning event naming the field. (pilot watches v1, as for
 * every kind; the API server serves v1alpha1 objects at v1 too, which the mock API server does not do, so v1alpha1 is
 * covered by TelemetryValidationTest.)
 */
class KubernetesTelemetryTest {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
    }

    private List<Telemetry> telemetries() {
        return k8s.harness.pilot.snapshot().telemetries();
    }

    @Test
    void telemetriesAppliedWithKubectlReachTheSnapshotAndAnInvalidOneIsRejectedWithAnEvent() {
        k8s.kubectl("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: istio-system}
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  tracing: [{randomSamplingPercentage: 10}]
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: web-no-log, namespace: demo}
                spec:
                  selector: {matchLabels: {app: web}}
                  accessLogging: [{disabled: true}]
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: too-much, namespace: demo}
                spec:
                  tracing: [{randomSamplingPercentage: 150}]
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> telemetries().size() == 2);
        Telemetry web = telemetries().stream().filter(t -> t.name().equals("web-no-log")).findFirst().orElseThrow();
        assertEquals(java.util.Map.of("app", "web"), web.selector());
        assertEquals(Boolean.TRUE, web.accessLogging().get(0).disabled());
        assertTrue(web.created() != null, "the API server's creationTimestamp orders Telemetries as istiod does");

        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.client.v1().events().inNamespace("demo").list()
                .getItems().stream().anyMatch(e -> "Rejected".equals(e.getReason())));
        Event e = k8s.client.v1().events().inNamespace("demo").list().getItems().stream()
                .filter(x -> "Rejected".equals(x.getReason())).findFirst().orElseThrow();
        assertEquals("Telemetry", e.getInvolvedObject().getKind());
        assertEquals("too-much", e.getInvolvedObject().getName());
        assertTrue(e.getMessage().contains("spec.tracing[0].randomSamplingPercentage: must be in range [0.0, 100.0]"),
                e.getMessage());

        k8s.kubectl("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  tracing: [{randomSamplingPercentage: 100}]
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> telemetries().stream().anyMatch(t -> t.name()
                .equals("mesh-default") && Double.valueOf(100).equals(t.tracing().get(0).randomSamplingPercentage())));

        k8s.kubectl(null, "delete", "telemetry", "-n", "demo", "web-no-log");
        await().atMost(Duration.ofSeconds(10)).until(() -> telemetries().size() == 1);
    }
}
