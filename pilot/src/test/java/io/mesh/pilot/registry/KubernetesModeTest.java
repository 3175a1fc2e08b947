package io.mesh.pilot.registry;

import static io.mesh.pilot.testing.Checks.assertBetween;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.testing.grpc.NamedGrpcBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode against the Fabric8 mock API, driven by the real kubectl: Services and EndpointSlices become
 * endpoints, the canary VirtualService routes a real grpc-java xDS client, scaling a slice moves traffic, and a
 * rejected resource gets a Warning Event.
 */
class KubernetesModeTest {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;
    KubernetesClient client;
    PilotHarness harness;
    final List<NamedGrpcBackend> backends = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(true);
        client = k8s.client;
        harness = k8s.harness;
    }

    @AfterEach
    void stop() {
        backends.forEach(NamedGrpcBackend::close);
    }

    private String kubectl(String stdin, String... args) {
        return k8s.kubectl(stdin, args);
    }

    private NamedGrpcBackend backend(String name) {
        NamedGrpcBackend b = new NamedGrpcBackend(name);
        backends.add(b);
        return b;
    }

    /** A Service on port 80 (grpc) and its EndpointSlice on 127.0.0.1, one endpoint per backend. */
    private void service(String name, NamedGrpcBackend... eps) throws Exception {
        StringBuilder endpoints = new StringBuilder();
        for (NamedGrpcBackend b : eps) {
            // The mock has no kube-proxy: each endpoint is its own port on 127.0.0.1, told by a one-port slice.
            endpoints.append("""
                    ---
                    apiVersion: discovery.k8s.io/v1
                    kind: EndpointSlice
                    metadata:
                      name: %s-%s
                      namespace: demo
                      labels: {kubernetes.io/service-name: %s}
                    addressType: IPv4
                    ports: [{name: grpc, port: %d, protocol: TCP}]
                    endpoints:
                    - addresses: [127.0.0.1]
                      conditions: {ready: true}
                    """.formatted(name, b.name(), name, b.port()));
        }
        kubectl("""
                apiVersion: v1
                kind: Service
                metadata: {name: %s, namespace: demo}
                spec:
                  selector: {app: %s}
                  ports: [{name: grpc, port: 80, targetPort: 8080, protocol: TCP}]
                """.formatted(name, name) + endpoints, "apply", "-f", "-");
    }

    @Test
    void canaryThroughKubectlSplitsThenReRoutes() throws Exception {
        service("web", backend("web"));
        service("backend", backend("backend"));
        kubectl(MeshFixtures.canary(50, 50), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().meshRoutes()
                .containsKey("web.demo.svc.cluster.local") && harness.pilot.snapshot().endpointsOf(
                        "backend.demo.svc.cluster.local").size() == 1);

        ManagedChannel channel = harness.xdsChannel("web.demo.svc.cluster.local:80", "k8s-canary");
        NamedGrpcBackend.warmUp(channel);
        Map<String, Integer> first = NamedGrpcBackend.count(channel, 1000);
        assertBetween(first.getOrDefault("backend", 0), 450, 550, "50/50 " + first);

        long t0 = System.nanoTime();
        kubectl(MeshFixtures.canary(90, 10), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                .until(() -> NamedGrpcBackend.count(channel, 50).getOrDefault("backend", 0) >= 40);
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L + 500_000_000L);
        Map<String, Integer> second = NamedGrpcBackend.count(channel, 1000);
        assertBetween(second.getOrDefault("backend", 0), 850, 950, "90/10 " + second);
    }

    @Test
    void scalingEndpointSlicesChangesWhereCallsGo() throws Exception {
        NamedGrpcBackend a = backend("backend-a");
        NamedGrpcBackend b = backend("backend-b");
        service("backend", a);
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot()
                .endpointsOf("backend.demo.svc.cluster.local").size() == 1);
        ManagedChannel channel = harness.xdsChannel("backend.demo.svc.cluster.local:80", "k8s-scale");
        NamedGrpcBackend.warmUp(channel);
        assertEquals(Map.of("backend-a", 100), NamedGrpcBackend.count(channel, 100));

        service("backend", a, b);
        await().atMost(Duration.ofSeconds(5)).until(() -> NamedGrpcBackend.count(channel, 40).size() == 2);

        kubectl(null, "delete", "endpointslice", "-n", "demo", "backend-backend-a");
        await().atMost(Duration.ofSeconds(5)).until(() -> NamedGrpcBackend.count(channel, 40)
                .equals(Map.of("backend-b", 40)));
    }

    @Test
    void gatewayCertificateComesFromATlsSecretOverSds() throws Exception {
        java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
        kubectl("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: istio-system}
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: shop-cert, namespace: istio-system}
                type: kubernetes.io/tls
                data:
                  tls.crt: %s
                  tls.key: %s
                """.formatted(b64.encodeToString("CERT-PEM".getBytes()), b64.encodeToString("KEY-PEM".getBytes()))
                + "---\n" + Files.readString(Path.of("src/test/resources/generator/gateway.yaml")), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().credentials()
                .containsKey("shop-cert") && !harness.pilot.snapshot().gateways().isEmpty());
        com.google.protobuf.Struct labels = com.google.protobuf.Struct.newBuilder().putFields("istio",
                com.google.protobuf.Value.newBuilder().setStringValue("ingressgateway").build()).build();
        try (io.mesh.pilot.testing.RawAdsClient router = new io.mesh.pilot.testing.RawAdsClient(
                harness.pilot.xdsPort(), "router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local",
                null)) {
            router.openSotwWithLabels(labels);
            router.request(io.envoyproxy.controlplane.cache.Resources.V3.SECRET_TYPE_URL,
                    List.of("kubernetes://shop-cert"), "", "", null);
            var r = router.next(Duration.ofSeconds(5));
            assertEquals(1, r.getResourcesCount());
            var secret = r.getResources(0).unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class);
            assertEquals("KEY-PEM", secret.getTlsCertificate().getPrivateKey().getInlineBytes().toStringUtf8());
        }
    }

    @Test
    void rejectedVirtualServiceGetsAWarningEvent() throws Exception {
        kubectl(MeshFixtures.SEED_ARTICLE_VS.replace("v1alpha3", "v1"), "apply", "--validate=false", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> client.v1().events().inNamespace("demo").list()
                .getItems().stream().anyMatch(e -> "Rejected".equals(e.getReason())));
        Event e = client.v1().events().inNamespace("demo").list().getItems().get(0);
        assertEquals("VirtualService", e.getInvolvedObject().getKind());
        assertEquals("web", e.getInvolvedObject().getName());
        assertTrue(e.getMessage().contains("route: - destination: {host: ...}"), e.getMessage());
        assertEquals("Warning", e.getType());
    }

    /**
     * The sidecar's CDS entry for backend: the SANs of its auto-mTLS match ({@code tlsMode-istio}), or null when it has
     * none.
     */
    private static List<String> backendSans(io.mesh.pilot.testing.RawAdsClient sidecar, List<String> names)
            throws Exception {
        var r = sidecar.next(Duration.ofSeconds(5));
        assertTrue(r != null, "a CDS push");
        sidecar.ack(r, List.of());
        for (var any : r.getResourcesList()) {
            var c = any.unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class);
            if (c.getName().equals("outbound|80||backend.demo.svc.cluster.local")) {
                if (c.getTransportSocketMatchesCount() == 0) {
                    return null;
                }
                assertEquals("tlsMode-istio", c.getTransportSocketMatches(0).getName());
                return c.getTransportSocketMatches(0).getTransportSocket().getTypedConfig()
                        .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class)
                        .getCommonTlsContext().getCombinedValidationContext().getDefaultValidationContext()
                        .getMatchSubjectAltNamesList().stream().map(m -> m.getExact()).toList();
            }
        }
        throw new AssertionError("no backend cluster in " + names);
    }

    /** Each endpoint of the sidecar's EDS assignment for backend with its match metadata's tlsMode ("" for none). */
    private static Map<String, String> backendTlsModes(io.mesh.pilot.testing.RawAdsClient sidecar) throws Exception {
        var r = sidecar.nextOf(io.envoyproxy.controlplane.cache.Resources.V3.ENDPOINT_TYPE_URL, List.of(BACKEND));
        Map<String, String> modes = new java.util.TreeMap<>();
        var cla = r.getResources(0).unpack(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class);
        for (var l : cla.getEndpointsList()) {
            for (var e : l.getLbEndpointsList()) {
                var m = e.getMetadata().getFilterMetadataMap().get("envoy.transport_socket_match");
                modes.put(e.getEndpoint().getAddress().getSocketAddress().getAddress(),
                        m == null ? "" : m.getFieldsOrThrow("tlsMode").getStringValue());
            }
        }
        return modes;
    }

    private static final String BACKEND = "outbound|80||backend.demo.svc.cluster.local";

    @Test
    void aPartlyInjectedServiceGetsMtlsPerPodAndLabellingAPodPushesItsEndpoint() throws Exception {
        kubectl("""
                apiVersion: v1
                kind: Pod
                metadata: {name: backend-1, namespace: demo, labels: {app: backend, security.istio.io/tlsMode: istio}}
                spec:
                  serviceAccountName: backend-sa
                  containers: [{name: app, image: backend}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: backend-2, namespace: demo, labels: {app: backend}}
                spec:
                  serviceAccountName: backend-sa
                  containers: [{name: app, image: backend}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: backend, namespace: demo}
                spec:
                  selector: {app: backend}
                  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: backend-1
                  namespace: demo
                  labels: {kubernetes.io/service-name: backend}
                addressType: IPv4
                ports: [{name: http, port: 8080, protocol: TCP}]
                endpoints:
                - addresses: [10.1.0.5]
                  conditions: {ready: true}
                  targetRef: {kind: Pod, name: backend-1, namespace: demo}
                - addresses: [10.1.0.6]
                  conditions: {ready: true}
                  targetRef: {kind: Pod, name: backend-2, namespace: demo}
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot()
                .endpointsOf("backend.demo.svc.cluster.local").size() == 2);
        try (io.mesh.pilot.testing.RawAdsClient sidecar = new io.mesh.pilot.testing.RawAdsClient(
                harness.pilot.xdsPort(), "sidecar~10.1.0.9~client-1.demo~demo.svc.cluster.local", null)) {
            sidecar.openSotw();
            sidecar.request(io.envoyproxy.controlplane.cache.Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            // One cluster for both pods: mesh mTLS (with the pods' SPIFFE ID) to those EDS marks, plaintext to the rest.
            assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/backend-sa"), backendSans(sidecar, List.of()));
            sidecar.request(io.envoyproxy.controlplane.cache.Resources.V3.ENDPOINT_TYPE_URL, List.of(BACKEND), "", "",
                    null);
            assertEquals(Map.of("10.1.0.5", "istio", "10.1.0.6", ""), backendTlsModes(sidecar));

            // Only the Pod changes (an endpoints-only event): its endpoint's metadata follows over EDS.
            kubectl(null, "label", "pod", "-n", "demo", "backend-2", "security.istio.io/tlsMode=istio");
            Map<String, String> modes = Map.of();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!modes.equals(Map.of("10.1.0.5", "istio", "10.1.0.6", "istio")) && System.nanoTime() < deadline) {
                modes = backendTlsModes(sidecar);
            }
            assertEquals(Map.of("10.1.0.5", "istio", "10.1.0.6", "istio"), modes);
        }
    }

    @Test
    void aServicesClusterIpsBecomeItsVipListenersAndHeadlessGetsNone() throws Exception {
        kubectl("""
                apiVersion: v1
                kind: Service
                metadata: {name: db, namespace: demo}
                spec:
                  selector: {app: db}
                  clusterIP: 10.96.0.10
                  clusterIPs: [10.96.0.10, "fd00::10"]
                  ports: [{name: tcp-postgres, port: 5432, targetPort: 5432, protocol: TCP}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: single, namespace: demo}
                spec:
                  selector: {app: single}
                  clusterIP: 10.96.0.11
                  ports: [{name: tcp, port: 6379, protocol: TCP}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: db-headless, namespace: demo}
                spec:
                  selector: {app: db}
                  clusterIP: None
                  ports: [{name: tcp-postgres, port: 5433, targetPort: 5432, protocol: TCP}]
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().services()
                .keySet().containsAll(List.of("db.demo.svc.cluster.local", "single.demo.svc.cluster.local",
                        "db-headless.demo.svc.cluster.local")));
        var services = harness.pilot.snapshot().services();
        assertEquals(List.of("10.96.0.10", "fd00::10"), services.get("db.demo.svc.cluster.local").addresses());
        assertEquals(List.of("10.96.0.11"), services.get("single.demo.svc.cluster.local").addresses());
        assertEquals(List.of(), services.get("db-headless.demo.svc.cluster.local").addresses());

        try (io.mesh.pilot.testing.RawAdsClient sidecar = new io.mesh.pilot.testing.RawAdsClient(
                harness.pilot.xdsPort(), "sidecar~10.1.0.9~client-1.demo~demo.svc.cluster.local", null)) {
            sidecar.openSotw();
            sidecar.request(io.envoyproxy.controlplane.cache.Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            var r = sidecar.next(Duration.ofSeconds(5));
            assertTrue(r != null, "an LDS response");
            Map<String, String> tcpTargets = new java.util.TreeMap<>();
            for (var any : r.getResourcesList()) {
                var l = any.unpack(io.envoyproxy.envoy.config.listener.v3.Listener.class);
                if (l.getName().startsWith("virtual")) {
                    continue;
                }
                var f = l.getFilterChains(0).getFilters(0);
                assertEquals("envoy.filters.network.tcp_proxy", f.getName(), l.getName());
                assertEquals(false, l.getBindToPort().getValue(), l.getName());
                tcpTargets.put(l.getName(), l.getAddress().getSocketAddress().getAddress() + ":"
                        + l.getAddress().getSocketAddress().getPortValue() + " -> " + f.getTypedConfig().unpack(
                                io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class).getCluster());
            }
            assertEquals(Map.of(
                    "10.96.0.10_5432", "10.96.0.10:5432 -> outbound|5432||db.demo.svc.cluster.local",
                    "fd00::10_5432", "fd00::10:5432 -> outbound|5432||db.demo.svc.cluster.local",
                    "10.96.0.11_6379", "10.96.0.11:6379 -> outbound|6379||single.demo.svc.cluster.local"),
                    tcpTargets, "headless db-headless has no VIP listener");
        }
    }

    @Test
    void aServicesExportToAnnotationDecidesWhichNamespacesSeeIt() throws Exception {
        service("web", backend("web"));
        String annotated = """
                apiVersion: v1
                kind: Service
                metadata:
                  name: web
                  namespace: demo
                  annotations: {networking.istio.io/exportTo: "%s"}
                spec:
                  selector: {app: web}
                  ports: [{name: grpc, port: 80, targetPort: 8080, protocol: TCP}]
                """;
        kubectl(annotated.formatted("team-a"), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            var web = harness.pilot.snapshot().services().get("web.demo.svc.cluster.local");
            return web != null && web.exportTo().equals(List.of("team-a"));
        });
        // The client is in demo: a Service exported to team-a alone is not there for it, so pilot gives it no
        // listener and the call finds no service (grpc-java fails it, or holds it until its deadline).
        ManagedChannel channel = harness.xdsChannel("web.demo.svc.cluster.local:80", "k8s-export-to");
        io.grpc.StatusRuntimeException hidden = org.junit.jupiter.api.Assertions.assertThrows(
                io.grpc.StatusRuntimeException.class, () -> io.grpc.stub.ClientCalls.blockingUnaryCall(channel,
                        NamedGrpcBackend.NAME, io.grpc.CallOptions.DEFAULT.withDeadlineAfter(3, TimeUnit.SECONDS), ""));
        assertTrue(Set.of(io.grpc.Status.Code.UNAVAILABLE, io.grpc.Status.Code.DEADLINE_EXCEEDED)
                .contains(hidden.getStatus().getCode()), hidden.toString());

        kubectl(annotated.formatted("., team-a"), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> NamedGrpcBackend.call(channel).equals("web"));
        assertEquals(List.of(".", "team-a"), harness.pilot.snapshot().services().get("web.demo.svc.cluster.local")
                .exportTo());
    }
}
