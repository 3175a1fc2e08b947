package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.AdsAnswers;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A ServiceEntry's {@code workloadSelector} selects Kubernetes pods of its namespace, as in Istio: pods from the Fabric8
 * mock API, applied and changed by the real kubectl, become the entry's endpoints in EDS, and follow the pods as they
 * come, go and are relabelled, without restarting pilot. Before, only WorkloadEntries were selected, and such an
 * entry for pods had no endpoints at all.
 */
class KubernetesServiceEntryPodsTest {
    static final String HOST = "x.demo.svc.cluster.local";
    static final String CLUSTER = "outbound|80||" + HOST;

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;
    PilotHarness harness;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
        harness = k8s.harness;
        k8s.kubectl("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: other}
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: x, namespace: demo}
                spec:
                  hosts: [x.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
                  workloadSelector:
                    labels: {app: x}
                """ + pod("x-1", "demo", "198.51.100.10", "{app: x, security.istio.io/tlsMode: istio}")
                + pod("x-elsewhere", "other", "198.51.100.20", "{app: x, security.istio.io/tlsMode: istio}")
                + pod("web-1", "demo", "198.51.100.30", "{app: web, security.istio.io/tlsMode: istio}"),
                "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().services().containsKey(HOST)
                && !harness.pilot.snapshot().endpointsOf(HOST).isEmpty());
    }

    /** A running, ready pod with an IP, service account x-sa, as the kubelet would have reported it. */
    static String pod(String name, String namespace, String ip, String labels) {
        return """
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: %s, labels: %s}
                spec:
                  serviceAccountName: x-sa
                  containers: [{name: app, image: app}]
                status:
                  phase: Running
                  podIP: %s
                  conditions: [{type: Ready, status: "True"}]
                """.formatted(name, namespace, labels, ip);
    }

    @Test
    void theSelectedPodsOfItsNamespaceAreTheEntrysEndpointsAndFollowPodChanges() throws Exception {
        try (RawAdsClient sidecar = sidecar()) {
            sidecar.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(CLUSTER), "", "", null);
            // The pod of demo with app=x, at the port's targetPort; not the one in "other", nor app=web.
            assertEquals(Map.of("198.51.100.10:8080", HealthStatus.HEALTHY), endpoints(next(sidecar)));

            // A second pod comes.
            k8s.kubectl(pod("x-2", "demo", "198.51.100.11", "{app: x}"), "apply", "-f", "-");
            assertEquals(Map.of("198.51.100.10:8080", HealthStatus.HEALTHY, "198.51.100.11:8080", HealthStatus.HEALTHY),
                    endpoints(next(sidecar)));

            // It is deleted; the first one is relabelled out of the selection and the other pod of demo into it.
            k8s.kubectl(null, "delete", "pod", "x-2", "-n", "demo");
            assertEquals(Map.of("198.51.100.10:8080", HealthStatus.HEALTHY), endpoints(next(sidecar)));
            k8s.kubectl(null, "label", "pod", "x-1", "-n", "demo", "app=gone", "--overwrite");
            assertEquals(Map.of(), endpoints(next(sidecar)));
            k8s.kubectl(null, "label", "pod", "web-1", "-n", "demo", "app=x", "--overwrite");
            assertEquals(Map.of("198.51.100.30:8080", HealthStatus.HEALTHY), endpoints(next(sidecar)));
        }
    }

    @Test
    void aSelectedPodThatIsNotReadyOrTerminatingIsNoEndpointAsInIstiod() throws Exception {
        try (RawAdsClient sidecar = sidecar()) {
            sidecar.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(CLUSTER), "", "", null);
            assertEquals(Map.of("198.51.100.10:8080", HealthStatus.HEALTHY), endpoints(next(sidecar)));

            // A pod whose readiness probe fails comes with a ready one: istiod's pod cache hands the ServiceEntry
            // controller only ready pods, so it is no endpoint (not even an UNHEALTHY one).
            k8s.kubectl(pod("x-2", "demo", "198.51.100.11", "{app: x}").replace("status: \"True\"", "status: \"False\"")
                    + pod("x-3", "demo", "198.51.100.12", "{app: x}"), "apply", "-f", "-");
            assertEquals(Map.of("198.51.100.10:8080", HealthStatus.HEALTHY, "198.51.100.12:8080", HealthStatus.HEALTHY),
                    endpoints(next(sidecar)));

            // It gets ready: it joins. (A finalizer holds it while it shuts down, below.)
            k8s.kubectl(pod("x-2", "demo", "198.51.100.11", "{app: x}").replace("labels: {app: x}}",
                    "labels: {app: x}, finalizers: [example.com/hold]}"), "apply", "-f", "-");
            assertEquals(Map.of("198.51.100.10:8080", HealthStatus.HEALTHY, "198.51.100.11:8080", HealthStatus.HEALTHY,
                    "198.51.100.12:8080", HealthStatus.HEALTHY), endpoints(next(sidecar)));

            // It is deleted and starts shutting down (the API server sets its deletion timestamp and keeps it while
            // the finalizer holds it): it leaves, though still Ready.
            k8s.kubectl(null, "delete", "pod", "x-2", "-n", "demo", "--wait=false");
            await().atMost(Duration.ofSeconds(10)).until(() -> k8s.client.pods().inNamespace("demo").withName("x-2")
                    .get().getMetadata().getDeletionTimestamp() != null);
            assertEquals(Map.of("198.51.100.10:8080", HealthStatus.HEALTHY, "198.51.100.12:8080", HealthStatus.HEALTHY),
                    endpoints(next(sidecar)));
        }
    }

    @Test
    void theSelectedPodsIdentityGivesTheEntryAutoMtlsPerPodAndAPodLabelChangeUpdatesIt() throws Exception {
        try (RawAdsClient sidecar = sidecar()) {
            sidecar.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            // The entry is MESH_INTERNAL: auto mTLS per endpoint, the SANs the pods' service account.
            assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/x-sa"), sans(next(sidecar, Resources.V3.CLUSTER_TYPE_URL)));
            sidecar.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(CLUSTER), "", "", null);
            assertEquals(Map.of("198.51.100.10", "istio"), tlsModes(next(sidecar, Resources.V3.ENDPOINT_TYPE_URL)));

            // A pod without the label joins: it alone is reached in plaintext, the labelled one still over mTLS.
            k8s.kubectl(pod("x-2", "demo", "198.51.100.11", "{app: x}"), "apply", "-f", "-");
            assertEquals(Map.of("198.51.100.10", "istio", "198.51.100.11", ""),
                    tlsModes(next(sidecar, Resources.V3.ENDPOINT_TYPE_URL)));
            // It gets its sidecar (the label): its endpoint follows.
            k8s.kubectl(null, "label", "pod", "x-2", "-n", "demo", "security.istio.io/tlsMode=istio");
            assertEquals(Map.of("198.51.100.10", "istio", "198.51.100.11", "istio"),
                    tlsModes(next(sidecar, Resources.V3.ENDPOINT_TYPE_URL)));
        }
    }

    /** Each endpoint of the entry's assignment with its {@code envoy.transport_socket_match} tlsMode ("" for none). */
    private static Map<String, String> tlsModes(DiscoveryResponse eds) throws Exception {
        Map<String, String> modes = new java.util.TreeMap<>();
        var cla = eds.getResources(0).unpack(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class);
        for (var l : cla.getEndpointsList()) {
            for (var e : l.getLbEndpointsList()) {
                var m = e.getMetadata().getFilterMetadataMap().get("envoy.transport_socket_match");
                modes.put(e.getEndpoint().getAddress().getSocketAddress().getAddress(),
                        m == null ? "" : m.getFieldsOrThrow("tlsMode").getStringValue());
            }
        }
        return modes;
    }

    @Test
    void aPodThatComesIntoTheSelectionServesTheEntrysPortOnItsInbound() throws Exception {
        // x-2's own sidecar connects before its pod is selected. The pod then comes with x-1's labels and service
        // account: the endpoints' identities do not change, so only the push naming the entry's host gives this
        // sidecar its inbound side for the entry's port (8080, the targetPort).
        try (RawAdsClient sidecar = sidecar("198.51.100.11", "x-2")) {
            sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            assertFalse(AdsAnswers.inboundChains(next(sidecar, Resources.V3.LISTENER_TYPE_URL)).stream()
                    .anyMatch(c -> c.startsWith("inbound|8080||")));
            k8s.kubectl(pod("x-2", "demo", "198.51.100.11", "{app: x, security.istio.io/tlsMode: istio}"), "apply", "-f",
                    "-");
            List<String> chains = AdsAnswers.inboundChains(next(sidecar, Resources.V3.LISTENER_TYPE_URL));
            assertTrue(chains.contains("inbound|8080||-tls"), chains.toString());
        }
    }

    private RawAdsClient sidecar() {
        return sidecar("10.1.0.9", "client-1");
    }

    private RawAdsClient sidecar(String ip, String podName) {
        return RawAdsClient.sidecar(harness.pilot.xdsPort(), ip, podName, "demo");
    }

    private static DiscoveryResponse next(RawAdsClient c) throws Exception {
        return next(c, Resources.V3.ENDPOINT_TYPE_URL);
    }

    private static DiscoveryResponse next(RawAdsClient c, String type) throws Exception {
        return AdsAnswers.next(c, type, List.of(CLUSTER));
    }

    /** The assignment of the entry's cluster: "IP:PORT" -> health. */
    private static Map<String, HealthStatus> endpoints(DiscoveryResponse eds) throws Exception {
        return AdsAnswers.endpoints(eds, CLUSTER);
    }

    /** The SANs the entry's cluster checks (its auto-mTLS match's ISTIO_MUTUAL), or null for none. */
    private static List<String> sans(DiscoveryResponse cds) throws Exception {
        for (var any : cds.getResourcesList()) {
            Cluster c = any.unpack(Cluster.class);
            if (c.getName().equals(CLUSTER)) {
                if (c.getTransportSocketMatchesCount() == 0) {
                    return null;
                }
                return c.getTransportSocketMatches(0).getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class).getCommonTlsContext()
                        .getCombinedValidationContext().getDefaultValidationContext().getMatchSubjectAltNamesList()
                        .stream().map(m -> m.getExact()).toList();
            }
        }
        throw new AssertionError("no " + CLUSTER + " in CDS");
    }
}
