package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.pilot.model.Endpoint;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode: a health-checked WorkloadEntry (a VM's, {@code proxy.istio.io/health-checks-enabled: "true"}) is
 * its ServiceEntry's endpoint only once its status says {@code Healthy: "True"}, and leaves when it says otherwise, as
 * istiod's health controller and ServiceEntry controller have it. The real kubectl writes the status subresource of
 * the Fabric8 mock API server.
 */
class KubernetesWorkloadEntryHealthTest {
    static final String HOST = "vm.demo.svc.cluster.local";

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
    }

    private Set<String> endpoints() {
        return k8s.harness.pilot.snapshot().endpointsOf(HOST).stream().map(Endpoint::address).collect(Collectors.toSet());
    }

    private void status(String healthy) {
        k8s.kubectl(null, "patch", "workloadentry", "vm-1", "-n", "demo", "--subresource=status", "--type=merge", "-p",
                "{\"status\":{\"conditions\":[{\"type\":\"Healthy\",\"status\":\"" + healthy + "\"}]}}");
    }

    @Test
    void aHealthCheckedWorkloadEntryFollowsItsHealthyCondition() {
        k8s.kubectl("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: vm, namespace: demo}
                spec:
                  hosts: [vm.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  workloadSelector: {labels: {app: vm}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: vm-0, namespace: demo}
                spec: {address: 203.0.113.10, labels: {app: vm}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: vm-1, namespace: demo, annotations: {proxy.istio.io/health-checks-enabled: "true"}}
                spec: {address: 203.0.113.11, labels: {app: vm}}
                """, "apply", "-f", "-");
        // Not yet probed: not an endpoint.
        await().atMost(Duration.ofSeconds(10)).until(() -> endpoints().equals(Set.of("203.0.113.10")));

        status("True");
        await().atMost(Duration.ofSeconds(10)).until(() -> endpoints().equals(Set.of("203.0.113.10", "203.0.113.11")));
        status("False");
        await().atMost(Duration.ofSeconds(10)).until(() -> endpoints().equals(Set.of("203.0.113.10")));
    }
}
