package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Localities in Kubernetes mode come from where istiod takes them: a pod's Node's topology labels
 * ({@code topology.kubernetes.io/region}/{@code zone}, {@code topology.istio.io/subzone}) give its endpoints' locality
 * and, for a proxy in that pod, the proxy's own. Two sidecars in different zones, connected at once with the same
 * namespace and labels, each get their own zone's endpoint at priority 0 (the generation cache keeps them apart), and
 * relabelling a Node moves the priorities.
 */
class KubernetesLocalityTest {
    static final String CLUSTER = "outbound|80||web.demo.svc.cluster.local";

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;
    PilotHarness harness;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
        harness = k8s.harness;
        k8s.kubectl(node("node-a", "zone-a") + node("node-b", "zone-b")
                + pod("web-a", "node-a", "10.0.0.1", "web") + pod("web-b", "node-b", "10.0.0.2", "web")
                + pod("client-a", "node-a", "10.1.0.1", "client") + pod("client-b", "node-b", "10.1.0.2", "client")
                + """
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: demo}
                spec:
                  selector: {app: web}
                  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: web-1
                  namespace: demo
                  labels: {kubernetes.io/service-name: web}
                addressType: IPv4
                ports: [{name: http, port: 8080, protocol: TCP}]
                endpoints:
                - addresses: [10.0.0.1]
                  conditions: {ready: true}
                  targetRef: {kind: Pod, name: web-a, namespace: demo}
                - addresses: [10.0.0.2]
                  conditions: {ready: true}
                  targetRef: {kind: Pod, name: web-b, namespace: demo}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: demo}
                spec:
                  host: web.demo.svc.cluster.local
                  trafficPolicy:
                    outlierDetection: {consecutive5xxErrors: 3}
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().endpointsOf(
                "web.demo.svc.cluster.local").stream().filter(e -> e.locality().startsWith("us-east/zone-")).count() == 2
                && harness.pilot.snapshot().podLocalities().size() == 4
                && !harness.pilot.snapshot().destinationRules().isEmpty());
    }

    static String node(String name, String zone) {
        return """
                ---
                apiVersion: v1
                kind: Node
                metadata:
                  name: %s
                  labels: {topology.kubernetes.io/region: us-east, topology.kubernetes.io/zone: %s}
                """.formatted(name, zone);
    }

    static String pod(String name, String node, String ip, String app) {
        return """
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: demo, labels: {app: %s}}
                spec:
                  nodeName: %s
                  containers: [{name: app, image: app}]
                status:
                  phase: Running
                  podIP: %s
                  conditions: [{type: Ready, status: "True"}]
                """.formatted(name, app, node, ip);
    }

    @Test
    void eachSidecarGetsItsOwnZonesEndpointsFirstAndANodeRelabelMovesThem() throws Exception {
        try (RawAdsClient a = sidecar("10.1.0.1", "client-a"); RawAdsClient b = sidecar("10.1.0.2", "client-b")) {
            a.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(CLUSTER), "", "", null);
            b.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(CLUSTER), "", "", null);
            assertEquals(Map.of("10.0.0.1:8080", 0, "10.0.0.2:8080", 1), priorities(next(a)));
            assertEquals(Map.of("10.0.0.1:8080", 1, "10.0.0.2:8080", 0), priorities(next(b)));

            // node-b moves to zone-a: web-b's endpoint and client-b are both there now.
            k8s.kubectl(null, "label", "node", "node-b", "topology.kubernetes.io/zone=zone-a", "--overwrite");
            assertEquals(Map.of("10.0.0.1:8080", 0, "10.0.0.2:8080", 0), priorities(next(a)));
        }
    }

    private RawAdsClient sidecar(String ip, String podName) {
        return RawAdsClient.sidecar(harness.pilot.xdsPort(), ip, podName, "demo");
    }

    /** The next EDS response (ACKed), skipping others on the stream. */
    private static DiscoveryResponse next(RawAdsClient c) throws Exception {
        return c.nextOf(Resources.V3.ENDPOINT_TYPE_URL, List.of(CLUSTER));
    }

    /** The cluster's endpoints, "IP:PORT" -> priority. */
    private static Map<String, Integer> priorities(DiscoveryResponse eds) throws Exception {
        Map<String, Integer> out = new TreeMap<>();
        for (var any : eds.getResourcesList()) {
            ClusterLoadAssignment cla = any.unpack(ClusterLoadAssignment.class);
            if (cla.getClusterName().equals(CLUSTER)) {
                for (LocalityLbEndpoints l : cla.getEndpointsList()) {
                    for (var e : l.getLbEndpointsList()) {
                        var sa = e.getEndpoint().getAddress().getSocketAddress();
                        out.put(sa.getAddress() + ":" + sa.getPortValue(), l.getPriority());
                    }
                }
            }
        }
        return out;
    }
}
