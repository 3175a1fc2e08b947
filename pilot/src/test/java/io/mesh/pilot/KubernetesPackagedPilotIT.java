package io.mesh.pilot;

import io.mesh.testing.kube.Kubectl;
import static io.mesh.pilot.testing.Checks.assertBetween;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.xds.XdsNameResolverProvider;
import io.mesh.pilot.testing.RawAdsClient;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.testing.grpc.NamedGrpcBackend;
import io.mesh.testing.FreePorts;
import io.mesh.testing.kube.KubeApiMock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Kubernetes mode end to end: the packaged pilot runs as a process against the Fabric8 mock API; the real kubectl
 * applies Istio's CRDs, Services, EndpointSlices and the canary; a grpc-java xDS client follows the split.
 */
class KubernetesPackagedPilotIT {
    static final Path WORK = Path.of("target", "kubernetes-packaged-it");
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static KubeApiMock mock;
    static Path kubeconfig;
    static Process pilot;
    static int xdsPort;
    static int monitoringPort;
    static final List<NamedGrpcBackend> backends = new ArrayList<>();
    /** The first CDS and RDS responses of a sidecar that connected the moment pilot's xDS port opened. */
    static final CompletableFuture<List<DiscoveryResponse>> firstContact = new CompletableFuture<>();
    static final String SIDECAR = "sidecar~10.1.0.9~client-1.demo~demo.svc.cluster.local";

    @BeforeAll
    static void start() throws Exception {
        Files.createDirectories(WORK);
        mock = KubeApiMock.start(0, false, false);
        kubeconfig = mock.writeKubeconfig(WORK.resolve("kubeconfig"), "default").toAbsolutePath();
        kubectl(null, "apply", "-f", "../deploy/kubernetes/crds/networking.istio.io.yaml");
        kubectl(null, "apply", "-f", "../deploy/kubernetes/crds/security.istio.io.yaml");
        kubectl(null, "apply", "-f", "../deploy/kubernetes/crds/telemetry.istio.io.yaml");
        kubectl("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n", "apply", "-f", "-");
        xdsPort = FreePorts.next();
        monitoringPort = FreePorts.next();
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-Xmx128m", "-Dkubernetes.master=" + mock.url(),
                "-Dkubernetes.trust.certificates=true", "-Dkubernetes.auth.tryKubeConfig=false",
                "-Dkubernetes.auth.tryServiceAccount=false", "-Dkubernetes.http2.disable=true",
                "-Dkubernetes.namespace=default", "-jar", "target/quarkus-app/quarkus-run.jar")
                .redirectErrorStream(true).redirectOutput(WORK.resolve("pilot.log").toFile());
        pb.environment().putAll(Map.of("MESH_MODE", "kubernetes", "MESH_PILOT_XDS_PORT", Integer.toString(xdsPort),
                "MESH_PILOT_MONITORING_PORT", Integer.toString(monitoringPort), "QUARKUS_HTTP_HOST", "127.0.0.1"));
        // Config that exists before pilot starts, as when pilot restarts in a running cluster.
        kubectl(EARLY, "apply", "-f", "-");
        pilot = pb.start();
        firstContact();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> !pilot.isAlive() || status("/q/health/ready") == 200);
        assertTrue(pilot.isAlive(), "pilot exited: " + Files.readString(WORK.resolve("pilot.log")));
    }

    @AfterAll
    static void stop() throws Exception {
        if (pilot != null) {
            pilot.destroy();
            if (!pilot.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                pilot.destroyForcibly();
            }
        }
        backends.forEach(NamedGrpcBackend::close);
        if (mock != null) {
            mock.close();
        }
    }

    /** A Service with subsets and a split, applied before pilot starts. */
    static final String EARLY = """
            apiVersion: v1
            kind: Service
            metadata: {name: early, namespace: demo}
            spec:
              ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: early-1
              namespace: demo
              labels: {kubernetes.io/service-name: early}
            addressType: IPv4
            ports: [{name: http, port: 8080, protocol: TCP}]
            endpoints:
            - addresses: [198.51.100.7]
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: early, namespace: demo}
            spec:
              host: early
              subsets:
              - {name: v1, labels: {version: v1}}
              - {name: v2, labels: {version: v2}}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: early, namespace: demo}
            spec:
              hosts: [early]
              http:
              - route:
                - {destination: {host: early, subset: v1}, weight: 70}
                - {destination: {host: early, subset: v2}, weight: 30}
            """;

    /**
     * Dials pilot's xDS port from the moment the process starts, every 10 ms, as a restarted pilot's proxies do,
     * and keeps the first CDS and RDS answers it gets.
     */
    static void firstContact() {
        Thread probe = new Thread(() -> {
            try {
                await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10))
                        .until(() -> !pilot.isAlive() || dialed());
            } catch (RuntimeException e) {
                firstContact.completeExceptionally(e);
            }
            firstContact.completeExceptionally(new AssertionError("pilot exited before its xDS port answered"));
        }, "first-contact");
        probe.setDaemon(true);
        probe.start();
    }

    /** One dial of pilot's xDS port: true, with {@link #firstContact} completed, when CDS was answered. */
    static boolean dialed() throws InterruptedException {
        try (RawAdsClient ads = new RawAdsClient(xdsPort, SIDECAR, null).openSotw()) {
            ads.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            DiscoveryResponse cds = null;
            for (int i = 0; i < 500 && cds == null && ads.error == null; i++) {
                cds = ads.next(Duration.ofMillis(20));
            }
            if (cds == null) {
                return false;   // the port is not open yet (the stream failed): dial again
            }
            ads.ack(cds, List.of());
            ads.request(Resources.V3.ROUTE_TYPE_URL, List.of("80"), "", "", null);
            DiscoveryResponse rds = ads.next(Duration.ofSeconds(10));
            while (rds != null && !rds.getTypeUrl().equals(Resources.V3.ROUTE_TYPE_URL)) {
                ads.ack(rds, List.of());   // a CDS push (another test's Services) that crossed the request
                rds = ads.next(Duration.ofSeconds(10));
            }
            firstContact.complete(rds == null ? List.of(cds) : List.of(cds, rds));
            return true;
        }
    }

    @Test
    void aSidecarConnectingTheMomentPilotStartsGetsTheWholeClusterInItsFirstResponses() throws Exception {
        List<DiscoveryResponse> first = firstContact.get(60, TimeUnit.SECONDS);
        List<String> clusters = new ArrayList<>();
        for (var any : first.get(0).getResourcesList()) {
            clusters.add(any.unpack(Cluster.class).getName());
        }
        assertTrue(clusters.containsAll(List.of("outbound|80||early.demo.svc.cluster.local",
                "outbound|80|v1|early.demo.svc.cluster.local", "outbound|80|v2|early.demo.svc.cluster.local")),
                "the first CDS response holds the Service and its DestinationRule's subsets: " + clusters);
        assertEquals(2, first.size(), "no RDS response");
        RouteConfiguration routes = first.get(1).getResources(0).unpack(RouteConfiguration.class);
        VirtualHost early = routes.getVirtualHostsList().stream()
                .filter(vh -> vh.getDomainsList().contains("early.demo.svc.cluster.local")).findFirst()
                .orElseThrow(() -> new AssertionError("no virtual host for early: " + routes));
        Map<String, Integer> split = new java.util.TreeMap<>();
        for (WeightedCluster.ClusterWeight w : early.getRoutes(0).getRoute().getWeightedClusters().getClustersList()) {
            split.put(w.getName(), w.getWeight().getValue());
        }
        assertEquals(Map.of("outbound|80|v1|early.demo.svc.cluster.local", 70,
                "outbound|80|v2|early.demo.svc.cluster.local", 30), split,
                "the first RDS response holds the VirtualService's split");
    }

    static int status(String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitoringPort + path)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return 0;
        }
    }

    static String body(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitoringPort + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    static void kubectl(String stdin, String... args) {
        new Kubectl(kubeconfig, WORK).run(stdin, args);
    }

    static void service(String name, NamedGrpcBackend b) throws Exception {
        kubectl("""
                apiVersion: v1
                kind: Service
                metadata: {name: %s, namespace: demo}
                spec:
                  selector: {app: %s}
                  ports: [{name: grpc, port: 80, targetPort: 8080, protocol: TCP}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: %s-1
                  namespace: demo
                  labels: {kubernetes.io/service-name: %s}
                addressType: IPv4
                ports: [{name: grpc, port: %d, protocol: TCP}]
                endpoints:
                - addresses: [127.0.0.1]
                  conditions: {ready: true}
                """.formatted(name, name, name, name, b.port()), "apply", "-f", "-");
    }

    @Test
    void canaryAppliedWithKubectlSplitsThenReRoutes() throws Exception {
        NamedGrpcBackend web = new NamedGrpcBackend("web");
        NamedGrpcBackend backend = new NamedGrpcBackend("backend");
        backends.add(web);
        backends.add(backend);
        service("web", web);
        service("backend", backend);
        kubectl(MeshFixtures.canary(50, 50), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(20)).until(() -> body("/debug/configz").contains("\"Accepted\"")
                && body("/debug/registryz").contains("backend.demo.svc.cluster.local"));

        // A resolver of our own, so this class does not share grpc-java's one global bootstrap with other ITs.
        @SuppressWarnings("unchecked")
        Map<String, ?> bootstrap = new ObjectMapper().readValue(MeshFixtures.bootstrapJson(xdsPort, "k8s-it-client"),
                Map.class);
        NameResolverRegistry.getDefaultRegistry().register(XdsNameResolverProvider.createForTest("xds-k8s-it",
                bootstrap));
        ManagedChannel channel = Grpc.newChannelBuilder("xds-k8s-it:///web.demo.svc.cluster.local:80",
                InsecureChannelCredentials.create()).build();
        try {
            NamedGrpcBackend.warmUp(channel);
            Map<String, Integer> first = NamedGrpcBackend.count(channel, 1000);
            assertBetween(first.getOrDefault("backend", 0), 450, 550, "50/50 " + first);

            long t0 = System.nanoTime();
            kubectl(MeshFixtures.canary(90, 10), "apply", "-f", "-");
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
                    .until(() -> NamedGrpcBackend.count(channel, 50).getOrDefault("backend", 0) >= 40);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            Map<String, Integer> second = NamedGrpcBackend.count(channel, 1000);
            assertBetween(second.getOrDefault("backend", 0), 850, 950, "90/10 " + second);
            // kubectl itself (a process start and an apply) is inside this time; pilot's part is well under it.
            assertTrue(took.compareTo(Duration.ofSeconds(3)) < 0, "re-routed in " + took);

            kubectl(MeshFixtures.SEED_ARTICLE_VS.replace("v1alpha3", "v1").replace("name: web", "name: seed"),
                    "apply", "--validate=false", "-f", "-");
            await().atMost(Duration.ofSeconds(10)).until(() -> body("/debug/configz")
                    .contains("route: - destination: {host: ...}"));
        } finally {
            channel.shutdownNow();
        }
    }
}
