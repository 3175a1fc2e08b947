package io.mesh.pilot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.ServiceSource.Workload;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A ServiceEntry's {@code workloadSelector} selects Kubernetes pods too (Istio: "one or more Kubernetes pods or VM
 * workloads (specified using WorkloadEntry) based on their labels"), in its own namespace: each becomes an endpoint
 * with the pod's IP, labels, service account and readiness. YAML in, snapshot out, pods from the registry's view.
 */
class ServiceEntryPodSelectionTest {
    static final String X = "x.demo.svc.cluster.local";
    static final String TLS_ISTIO = "security.istio.io/tlsMode";

    /** x: MESH_INTERNAL, STATIC, app=x, port 80 with targetPort 8080 and port 9000 without; a WorkloadEntry app=x. */
    static final String CONFIG = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: x, namespace: demo}
            spec:
              hosts: [x.demo.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports:
              - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
              - {number: 9000, name: tcp, protocol: TCP}
              workloadSelector:
                labels: {app: x}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: vm-1, namespace: demo}
            spec:
              address: 203.0.113.7
              labels: {app: x}
              serviceAccount: vm-sa
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: y, namespace: demo}
            spec:
              hosts: [y.demo.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 80, name: http, protocol: HTTP}]
              endpoints: [{address: 203.0.113.9}]
            """;

    static Map<ConfigKey, Object> config(String yaml) {
        Map<ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(yaml, "test.yaml").resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors(), raw.key().toString());
            config.put(raw.key(), r.model());
        }
        return config;
    }

    static Workload pod(String namespace, String name, String ip, Map<String, String> labels) {
        return new Workload(namespace, name, ip, labels, name + "-sa", "");
    }

    static ServiceSource.View pods(Workload... pods) {
        return new ServiceSource.View(List.of(), Map.of(), List.of(), List.of(pods));
    }

    static Map<String, Endpoint> byAddress(MeshSnapshot s, String host) {
        Map<String, Endpoint> out = new TreeMap<>();
        s.endpointsOf(host).forEach(e -> out.put(e.address(), e));
        return out;
    }

    @Test
    void aWorkloadSelectorSelectsMatchingPodsOfItsNamespaceBesidesWorkloadEntries() {
        MeshSnapshot s = SnapshotBuilder.build(1, config(CONFIG), pods(
                pod("demo", "x-1", "198.51.100.1", Map.of("app", "x", TLS_ISTIO, "istio")),
                pod("demo", "x-2", "198.51.100.2", Map.of("app", "x", "version", "v2")),
                pod("other", "x-3", "198.51.100.3", Map.of("app", "x")),
                pod("demo", "z-1", "198.51.100.4", Map.of("app", "z")),
                pod("demo", "y-1", "198.51.100.5", Map.of("app", "y"))));

        Map<String, Endpoint> x = byAddress(s, X);
        // The WorkloadEntry, and the two pods of demo with app=x; not the one in another namespace, nor app=z.
        assertEquals(Set.of("203.0.113.7", "198.51.100.1", "198.51.100.2"), x.keySet());
        Endpoint pod = x.get("198.51.100.1");
        assertEquals(Map.of(80, 8080, 9000, 9000), pod.ports(), "targetPort, else the port number");
        assertEquals(Map.of("app", "x", TLS_ISTIO, "istio"), pod.labels());
        assertEquals("x-1-sa", pod.serviceAccount());
        assertTrue(pod.healthy());
        // The same port mapping as the WorkloadEntry, which has no ports of its own.
        assertEquals(pod.ports(), x.get("203.0.113.7").ports());
        // A ServiceEntry without a workload selector keeps its own endpoints only.
        assertEquals(Set.of("203.0.113.9"), byAddress(s, "y.demo.svc.cluster.local").keySet());
    }

    @Test
    void aPodsNamedContainerPortWinsOverTheTargetPort() {
        Workload named = new Workload("demo", "x-1", "198.51.100.1", Map.of("app", "x"), "default", "r1/z1",
                Map.of("http", 8081));
        Endpoint e = byAddress(SnapshotBuilder.build(1, config(CONFIG), pods(named)), X).get("198.51.100.1");
        assertEquals(Map.of(80, 8081, 9000, 9000), e.ports());
        assertEquals("r1/z1", e.locality());
        assertEquals("default", e.serviceAccount());
    }

    @Test
    void withoutPodsTheEntryHasItsWorkloadEntriesOnly() {
        MeshSnapshot s = SnapshotBuilder.build(1, config(CONFIG), ServiceSource.View.EMPTY);
        assertEquals(Set.of("203.0.113.7"), byAddress(s, X).keySet());
    }

    @Test
    void theEndpointFastPathFollowsPodsComingGoingAndRelabelled() {
        Workload x1 = pod("demo", "x-1", "198.51.100.1", Map.of("app", "x"));
        Workload z1 = pod("demo", "z-1", "198.51.100.4", Map.of("app", "z"));
        MeshSnapshot first = SnapshotBuilder.build(1, config(CONFIG), pods(x1, z1));
        assertEquals(Set.of("203.0.113.7", "198.51.100.1"), byAddress(first, X).keySet());

        // A pod relabelled into the selection, another one's IP changed: the same config, new pods.
        Workload z1AsX = pod("demo", "z-1", "198.51.100.4", Map.of("app", "x"));
        Workload x1Moved = pod("demo", "x-1", "198.51.100.11", Map.of("app", "x"));
        MeshSnapshot next = first.withKubernetesEndpoints(2, pods(x1Moved, z1AsX));
        assertEquals(Set.of("203.0.113.7", "198.51.100.11", "198.51.100.4"), byAddress(next, X).keySet());
        assertEquals(Set.of(X), first.podSelectedChanges(next), "the push names the entry's host");

        // Every selected pod gone: the WorkloadEntry stays.
        MeshSnapshot gone = next.withKubernetesEndpoints(3, pods(pod("demo", "z-1", "198.51.100.4", Map.of())));
        assertEquals(Set.of("203.0.113.7"), byAddress(gone, X).keySet());
        assertEquals(Set.of(X), next.podSelectedChanges(gone));

        // A pod the entry does not select changes: its endpoints do not.
        MeshSnapshot same = gone.withKubernetesEndpoints(4, pods(pod("demo", "z-1", "198.51.100.40", Map.of())));
        assertEquals(Set.of(), gone.podSelectedChanges(same));
        assertEquals(gone.endpoints(), same.endpoints());
    }

    @Test
    void aConfigChangeToTheSelectorAloneIsAnEndpointOnlyChange() {
        ServiceSource.View view = pods(pod("demo", "x-1", "198.51.100.1", Map.of("app", "x")),
                pod("demo", "w-1", "198.51.100.2", Map.of("app", "w")));
        MeshSnapshot before = SnapshotBuilder.build(1, config(CONFIG), view);
        MeshSnapshot after = SnapshotBuilder.build(2, config(CONFIG.replace("labels: {app: x}\n---",
                "labels: {app: w}\n---")), view);
        assertEquals(Set.of("198.51.100.2"), byAddress(after, X).keySet());
        assertEquals(Set.of(X), before.endpointOnlyChanges(after));
    }
}
