package io.mesh.pilot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * WorkloadEntries whose health is checked ({@code proxy.istio.io/health-checks-enabled: "true"}) are endpoints only
 * while their status says {@code Healthy: "True"}, as in istiod (PILOT_ENABLE_WORKLOAD_ENTRY_HEALTHCHECKS, on by
 * default): an unhealthy one is handled as deleted, so the ServiceEntry selecting it does not get it, not even as an
 * UNHEALTHY endpoint.
 */
class WorkloadEntryHealthTest {
    static final String CONFIG = """
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
            metadata: {name: unchecked, namespace: demo}
            spec: {address: 203.0.113.1, labels: {app: vm}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: healthy, namespace: demo, annotations: {proxy.istio.io/health-checks-enabled: "true"}}
            spec: {address: 203.0.113.2, labels: {app: vm}}
            status:
              conditions: [{type: Healthy, status: "True"}]
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: unhealthy, namespace: demo, annotations: {proxy.istio.io/health-checks-enabled: "true"}}
            spec: {address: 203.0.113.3, labels: {app: vm}}
            status:
              conditions: [{type: Healthy, status: "False"}]
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: not-yet-probed, namespace: demo, annotations: {proxy.istio.io/health-checks-enabled: "1"}}
            spec: {address: 203.0.113.4, labels: {app: vm}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: checks-off, namespace: demo, annotations: {proxy.istio.io/health-checks-enabled: "false"}}
            spec: {address: 203.0.113.5, labels: {app: vm}}
            status:
              conditions: [{type: Healthy, status: "False"}]
            """;

    @Test
    void aHealthCheckedWorkloadEntryIsAnEndpointOnlyWhileItsStatusSaysHealthy() {
        MeshSnapshot s = SnapshotBuilder.build(1, ServiceEntryPodSelectionTest.config(CONFIG),
                ServiceEntryPodSelectionTest.pods());
        assertEquals(Set.of("203.0.113.1", "203.0.113.2", "203.0.113.5"),
                ServiceEntryPodSelectionTest.byAddress(s, "vm.demo.svc.cluster.local").keySet());
    }
}
