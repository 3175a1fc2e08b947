package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.config.TrafficDistribution;
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
 * A Kubernetes Service's {@code spec.trafficDistribution} (or Istio's {@code networking.istio.io/traffic-distribution}
 * annotation) in the EDS a sidecar gets, as istiod applies it: endpoints ranked by how close they are to the sidecar
 * (network, region, zone, and for PreferSameNode subzone and node), with no DestinationRule or outlier detection needed;
 * a DestinationRule's {@code localityLbSetting} takes over; a Service without it is unchanged. The sidecar runs in pod
 * {@code client} on node {@code a1} (us-east/zone-a); localities and nodes come from the Nodes and Pods.
 */
class KubernetesTrafficDistributionTest {
    static final String NEAR = "outbound|80||near.demo.svc.cluster.local";
    static final String LOCAL = "outbound|80||local.demo.svc.cluster.local";
    static final String PLAIN = "outbound|80||plain.demo.svc.cluster.local";
    static final List<String> CLUSTERS = List.of(NEAR, LOCAL, PLAIN);

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;
    PilotHarness harness;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
        harness = k8s.harness;
        StringBuilder yaml = new StringBuilder();
        yaml.append(node("a1", "us-east", "zone-a")).append(node("a2", "us-east", "zone-a"))
                .append(node("b", "us-east", "zone-b")).append(node("w", "us-west", "zone-w"))
                .append(pod("web-a1", "a1", "10.0.0.1", "web")).append(pod("web-a2", "a2", "10.0.0.2", "web"))
                .append(pod("web-b", "b", "10.0.0.3", "web")).append(pod("web-w", "w", "10.0.0.4", "web"))
                .append(pod("web-a3", "a1", "10.0.0.5", "web").replace("status: \"True\"", "status: \"False\""))
                .append(pod("client", "a1", "10.1.0.1", "client")).append(pod("client-2", "a2", "10.1.0.2", "client"))
                .append(service("near", "", "trafficDistribution: PreferClose"))
                .append(service("local", "annotations: {networking.istio.io/traffic-distribution: PreferSameNode}", ""))
                .append(service("plain", "", ""));
        k8s.kubectl(yaml.toString(), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> CLUSTERS.stream().allMatch(c -> harness.pilot.snapshot()
                .endpointsOf(c.substring(c.lastIndexOf('|') + 1)).size() == 5)
                && harness.pilot.snapshot().podLocalities().size() == 6);
    }

    static String node(String name, String region, String zone) {
        return """
                ---
                apiVersion: v1
                kind: Node
                metadata:
                  name: %s
                  labels: {topology.kubernetes.io/region: %s, topology.kubernetes.io/zone: %s}
                """.formatted(name, region, zone);
    }

    static String pod(String name, String node, String ip, String app) {
        return KubernetesLocalityTest.pod(name, node, ip, app);
    }

    /** A Service of the web pods, with its EndpointSlice. */
    static String service(String name, String metadata, String spec) {
        StringBuilder slice = new StringBuilder();
        for (String[] p : List.of(new String[] {"10.0.0.1", "web-a1"}, new String[] {"10.0.0.2", "web-a2"},
                new String[] {"10.0.0.3", "web-b"}, new String[] {"10.0.0.4", "web-w"})) {
            slice.append("""
                    - addresses: [%s]
                      conditions: {ready: true}
                      targetRef: {kind: Pod, name: %s, namespace: demo}
                    """.formatted(p[0], p[1]));
        }
        // Not ready (its readiness probe fails): UNHEALTHY.
        slice.append("""
                - addresses: [10.0.0.5]
                  conditions: {ready: false, serving: false, terminating: false}
                  targetRef: {kind: Pod, name: web-a3, namespace: demo}
                """);
        return """
                ---
                apiVersion: v1
                kind: Service
                metadata:
                  name: %1$s
                  namespace: demo
                  %2$s
                spec:
                  selector: {app: web}
                  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
                  %3$s
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: %1$s-1
                  namespace: demo
                  labels: {kubernetes.io/service-name: %1$s}
                addressType: IPv4
                ports: [{name: http, port: 8080, protocol: TCP}]
                endpoints:
                """.formatted(name, metadata, spec) + slice;
    }

    @Test
    void theServicesCarryTheirTrafficDistributionFromTheSpecOrTheAnnotation() {
        var services = harness.pilot.snapshot().services();
        assertEquals(TrafficDistribution.PREFER_SAME_ZONE, services.get("near.demo.svc.cluster.local")
                .trafficDistribution());
        assertEquals(TrafficDistribution.PREFER_SAME_NODE, services.get("local.demo.svc.cluster.local")
                .trafficDistribution());
        assertEquals(TrafficDistribution.ANY, services.get("plain.demo.svc.cluster.local").trafficDistribution());
    }

    @Test
    void twoSidecarsInOneZoneOnDifferentNodesEachGetTheirOwnNodeFirst() throws Exception {
        // Same namespace, labels and locality: only the node tells their EDS apart (the generation cache keys by it).
        try (RawAdsClient a = RawAdsClient.sidecar(harness.pilot.xdsPort(), "10.1.0.1", "client", "demo");
                RawAdsClient b = RawAdsClient.sidecar(harness.pilot.xdsPort(), "10.1.0.2", "client-2", "demo")) {
            a.request(Resources.V3.ENDPOINT_TYPE_URL, CLUSTERS, "", "", null);
            b.request(Resources.V3.ENDPOINT_TYPE_URL, CLUSTERS, "", "", null);
            assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 1, "10.0.0.3", 2, "10.0.0.4", 3, "10.0.0.5 UNHEALTHY", 0),
                    priorities(next(a)).get(LOCAL));
            assertEquals(Map.of("10.0.0.1", 1, "10.0.0.2", 0, "10.0.0.3", 2, "10.0.0.4", 3, "10.0.0.5 UNHEALTHY", 1),
                    priorities(next(b)).get(LOCAL));
        }
    }

    @Test
    void aSidecarGetsItsZoneFirstForPreferCloseItsNodeFirstForPreferSameNodeAndNoPrioritiesOtherwise()
            throws Exception {
        try (RawAdsClient c = RawAdsClient.sidecar(harness.pilot.xdsPort(), "10.1.0.1", "client", "demo")) {
            c.request(Resources.V3.ENDPOINT_TYPE_URL, CLUSTERS, "", "", null);
            Map<String, Map<String, Integer>> eds = priorities(next(c));
            // Same zone (either node): 0; same region: 1; another region: 2. As istiod, the not-ready endpoint is sent
            // too, as UNHEALTHY: the sidecar sees its zone's health and spills over without outlier detection.
            assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 1, "10.0.0.4", 2, "10.0.0.5 UNHEALTHY", 0),
                    eds.get(NEAR));
            // The client's node (its pod's, the registry's; it sends no NODE_NAME) first, then its zone's others.
            assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 1, "10.0.0.3", 2, "10.0.0.4", 3, "10.0.0.5 UNHEALTHY", 0),
                    eds.get(LOCAL));
            // Without a traffic distribution: no priorities, and the not-ready endpoint is left out.
            assertEquals(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 0, "10.0.0.4", 0), eds.get(PLAIN));

            // A DestinationRule with a localityLbSetting of its own wins: here, only the region counts.
            k8s.kubectl("""
                    apiVersion: networking.istio.io/v1
                    kind: DestinationRule
                    metadata: {name: near, namespace: demo}
                    spec:
                      host: near.demo.svc.cluster.local
                      trafficPolicy:
                        outlierDetection: {consecutive5xxErrors: 3}
                        loadBalancer:
                          localityLbSetting: {failoverPriority: [topology.kubernetes.io/region]}
                    """, "apply", "-f", "-");
            Map<String, Integer> byRegion = Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 0, "10.0.0.4", 1,
                    "10.0.0.5 UNHEALTHY", 0);
            await().atMost(Duration.ofSeconds(10)).until(() -> byRegion.equals(priorities(next(c)).get(NEAR)));

            // Dropping the field from the Service (and the rule) leaves the plain assignment.
            k8s.kubectl(null, "delete", "destinationrule", "near", "-n", "demo");
            k8s.kubectl(service("near", "", ""), "apply", "-f", "-");
            await().atMost(Duration.ofSeconds(10)).until(() -> eds.get(PLAIN).equals(priorities(next(c)).get(NEAR)));
        }
    }

    /** The next EDS response (ACKed), skipping others on the stream. */
    private static DiscoveryResponse next(RawAdsClient c) throws Exception {
        return c.nextOf(Resources.V3.ENDPOINT_TYPE_URL, CLUSTERS);
    }

    /** Per cluster in the response, "IP" (with its health status when not HEALTHY) -> priority. */
    private static Map<String, Map<String, Integer>> priorities(DiscoveryResponse eds) throws Exception {
        Map<String, Map<String, Integer>> out = new TreeMap<>();
        for (var any : eds.getResourcesList()) {
            ClusterLoadAssignment cla = any.unpack(ClusterLoadAssignment.class);
            Map<String, Integer> eps = out.computeIfAbsent(cla.getClusterName(), n -> new TreeMap<>());
            for (LocalityLbEndpoints l : cla.getEndpointsList()) {
                for (var e : l.getLbEndpointsList()) {
                    String ip = e.getEndpoint().getAddress().getSocketAddress().getAddress();
                    eps.put(e.getHealthStatus() == HealthStatus.HEALTHY ? ip : ip + " " + e.getHealthStatus(),
                            l.getPriority());
                }
            }
        }
        return out;
    }
}
