package io.mesh.pilot.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mesh.pilot.model.ServiceSource.Workload;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pods as the workloads ServiceEntries select, read as istiod reads them: from the pod objects the API returns. */
class PodWorkloadsTest {

    /** A pod as the API server returns it; {@code status} is YAML (flow style) or null for none. */
    static Pod pod(String name, String spec, String status) {
        return Serialization.unmarshal("""
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: demo, labels: {app: x, istio-locality: eu-west.eu-west-1a}}
                spec: %s
                status: %s
                """.formatted(name, spec, status == null ? "{}" : status), Pod.class);
    }

    static final String CONTAINERS = "{containers: [{name: app, image: app}]}";
    static final String RUNNING = "{phase: Running, podIP: 198.51.100.1, conditions: [{type: Ready, status: 'True'}]}";

    @Test
    void aRunningReadyPodIsAWorkload() {
        Workload w = PodWorkloads.of(pod("x-1", """
                {serviceAccountName: x-sa, containers: [{name: app, image: app, ports: [{name: http, containerPort: 8080},
                 {name: metrics, containerPort: 9090, protocol: UDP}]}, {name: side, image: s, ports: [{name: http,
                 containerPort: 8081}, {containerPort: 7000}]}]}""", RUNNING));
        assertEquals(new Workload("demo", "x-1", "198.51.100.1", Map.of("app", "x", "istio-locality",
                "eu-west.eu-west-1a"), "x-sa", "eu-west/eu-west-1a", Map.of("http", 8080)), w);
    }

    @Test
    void aPodWithoutAnIpOrThatFinishedIsNoWorkload() {
        assertNull(PodWorkloads.of(pod("pending", CONTAINERS, "{phase: Pending}")));
        assertNull(PodWorkloads.of(pod("no-status", CONTAINERS, null)));
        assertNull(PodWorkloads.of(pod("done", CONTAINERS, RUNNING.replace("Running", "Succeeded"))));
        assertNull(PodWorkloads.of(pod("failed", CONTAINERS, RUNNING.replace("Running", "Failed"))));
    }

    @Test
    void aPodThatIsNotReadyOrTerminatingIsNoWorkloadAsInIstiodsPodCache() {
        // istiod's pod cache hands the ServiceEntry controller only pods that shouldPodBeInEndpoints and IsPodReady.
        assertNull(PodWorkloads.of(pod("not-ready", CONTAINERS, RUNNING.replace("'True'", "'False'"))));
        assertNull(PodWorkloads.of(pod("no-conditions", CONTAINERS, "{phase: Running, podIP: 198.51.100.1}")));
        Pod terminating = pod("terminating", CONTAINERS, RUNNING);
        terminating.getMetadata().setDeletionTimestamp("2026-01-01T00:00:00Z");
        assertNull(PodWorkloads.of(terminating));
        assertNotNull(PodWorkloads.of(pod("ready", CONTAINERS, RUNNING)));
    }

    @Test
    void aPodNamingNoServiceAccountRunsAsDefault() {
        assertEquals("default", PodWorkloads.of(pod("x-1", CONTAINERS, RUNNING)).serviceAccount());
    }

    @Test
    void workloadsAreInNamespaceAndNameOrder() {
        List<Workload> ws = PodWorkloads.of(List.of(pod("b", CONTAINERS, RUNNING), pod("none", CONTAINERS, null),
                pod("a", CONTAINERS, RUNNING)));
        assertEquals(List.of("a", "b"), ws.stream().map(Workload::name).toList());
    }
}
