package io.mesh.e2e;

import io.mesh.testing.kube.Kubectl;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.zjsonpatch.JsonPatch;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.mesh.testing.grpc.NamedGrpcBackend;
import io.mesh.testing.kube.KubeApiMock;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The mesh in Kubernetes mode, end to end: the manifests and the canary sample are applied with the real
 * kubectl to the mock API, and pilot, citadel and the injector run as processes against it with a
 * kubeconfig. The test plays the API server for the webhook, and a real grpc-java xDS client follows pilot.
 */
class KubernetesModeIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    final ProcessHarness harness = new ProcessHarness().named("kubernetes-mode");

    private final Path work = harness.workDir();
    private final List<NamedGrpcBackend> backends = new ArrayList<>();
    private KubeApiMock api;
    private KubernetesClient client;
    private Path kubeconfig;

    @BeforeEach
    void installTheMeshAndTheSample() throws Exception {
        api = KubeApiMock.start(0, false, false);
        client = api.client("default");
        kubeconfig = api.writeKubeconfig(work.resolve("kubeconfig"), "default");
        Path deploy = harness.projectRoot().resolve("deploy/kubernetes");
        kubectl(null, "apply", "-f", deploy.resolve("crds").toString());
        kubectl(null, "apply", "-k", deploy.toString());
        kubectl(null, "apply", "-k", deploy.resolve("samples/canary").toString());
    }

    @AfterEach
    void stop() {
        harness.stopAll();
        backends.forEach(NamedGrpcBackend::close);
        client.close();
        api.close();
    }

    @Test
    void citadelInjectorAndPilotServeTheCanarySampleFromTheKubernetesApi() throws Exception {
        // The sample's two versions, each a real gRPC server on loopback behind its Pod and EndpointSlice.
        NamedGrpcBackend v1 = backend("v1");
        NamedGrpcBackend v2 = backend("v2");
        kubectl(endpoints(v1) + endpoints(v2), "apply", "-f", "-");

        Map<String, String> env = Map.of(
                "MESH_MODE", "kubernetes",
                "KUBECONFIG", kubeconfig.toString(),
                "KUBERNETES_HTTP2_DISABLE", "true",
                "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
        harness.start(Component.CITADEL, env);
        RunningComponent injector = harness.start(Component.INJECTOR, env);
        RunningComponent pilot = harness.start(Component.PILOT, env);

        // citadel publishes its root in the sample's namespace.
        await().atMost(DEADLINE).until(() -> {
            ConfigMap root = client.configMaps().inNamespace("canary").withName("istio-ca-root-cert").get();
            return root != null && root.getData().getOrDefault("root-cert.pem", "").contains("BEGIN CERTIFICATE");
        });

        // The injector publishes its caBundle; the API server (this test) trusts it and posts a pod.
        String caBundle = await().atMost(DEADLINE).until(() -> {
            MutatingWebhookConfiguration webhook = client.admissionRegistration().v1().mutatingWebhookConfigurations()
                    .withName("istio-sidecar-injector").get();
            return webhook.getWebhooks().get(0).getClientConfig().getCaBundle();
        }, bundle -> bundle != null && !bundle.isBlank());
        JsonNode pod = JSON.readTree("""
                {"apiVersion":"v1","kind":"Pod",
                 "metadata":{"name":"web-v1-7d4b9","namespace":"canary","labels":{"app":"web","version":"v1"}},
                 "spec":{"serviceAccountName":"web","containers":[{"name":"web","image":"hashicorp/http-echo:1.0",
                   "ports":[{"containerPort":5678}]}]}}""");
        JsonNode response = admit(injector.env().get("MESH_INJECTOR_WEBHOOK_PORT"), caBundle, pod);
        assertEquals("e2e-review-1", response.path("uid").asText());
        assertTrue(response.path("allowed").asBoolean(), response.toString());
        assertEquals("JSONPatch", response.path("patchType").asText());
        JsonNode injected = JsonPatch.apply(JSON.readTree(Base64.getDecoder().decode(response.path("patch").asText())), pod);
        List<String> containers = new ArrayList<>();
        injected.path("spec").path("containers").forEach(c -> containers.add(c.path("name").asText()));
        List<String> initContainers = new ArrayList<>();
        injected.path("spec").path("initContainers").forEach(c -> initContainers.add(c.path("name").asText()));
        assertTrue(containers.contains("web") && containers.contains("istio-proxy"), containers.toString());
        assertTrue(initContainers.contains("istio-init"), initContainers.toString());

        // pilot turns the sample's VirtualService into a 50/50 split that grpc-java's xDS client follows.
        System.setProperty("io.grpc.xds.bootstrapConfig", """
                {"xds_servers":[{"server_uri":"127.0.0.1:%s","channel_creds":[{"type":"insecure"}],"server_features":["xds_v3"]}],
                 "node":{"id":"e2e-canary-client","metadata":{"GENERATOR":"grpc","NAMESPACE":"canary"}}}
                """.formatted(pilot.env().get("MESH_PILOT_XDS_PORT")));
        ManagedChannel channel = Grpc.newChannelBuilder("xds:///web.canary.svc.cluster.local:80",
                InsecureChannelCredentials.create()).build();
        try {
            await().atMost(DEADLINE).ignoreExceptions().until(() -> NamedGrpcBackend.call(channel) != null);
            Map<String, Integer> counts = NamedGrpcBackend.count(channel, 1000);
            int toV1 = counts.getOrDefault("v1", 0);
            assertTrue(toV1 >= 450 && toV1 <= 550, "the canary splits 50/50 within 5%: " + counts);
            assertEquals(1000, toV1 + counts.getOrDefault("v2", 0), counts.toString());
        } finally {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    private NamedGrpcBackend backend(String version) {
        NamedGrpcBackend backend = new NamedGrpcBackend(version);
        backends.add(backend);
        return backend;
    }

    /** A Pod carrying the version label and an EndpointSlice of the web Service pointing at the backend. */
    private static String endpoints(NamedGrpcBackend backend) {
        return """
                ---
                apiVersion: v1
                kind: Pod
                metadata:
                  name: web-%1$s-0
                  namespace: canary
                  labels: {app: web, version: %1$s}
                spec:
                  serviceAccountName: web
                  containers: [{name: web, image: "hashicorp/http-echo:1.0"}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: web-%1$s
                  namespace: canary
                  labels: {kubernetes.io/service-name: web}
                addressType: IPv4
                ports: [{name: http, port: %2$d, protocol: TCP}]
                endpoints:
                - addresses: [127.0.0.1]
                  conditions: {ready: true}
                  targetRef: {kind: Pod, name: web-%1$s-0, namespace: canary}
                """.formatted(backend.name(), backend.port());
    }

    private JsonNode admit(String port, String caBundle, JsonNode pod) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        int i = 0;
        for (Certificate certificate : CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(Base64.getDecoder().decode(caBundle)))) {
            trust.setCertificateEntry("ca-" + i++, certificate);
        }
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, trustManagers.getTrustManagers(), null);
        ObjectNode review = JSON.createObjectNode();
        review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request");
        request.put("uid", "e2e-review-1").put("namespace", "canary").put("operation", "CREATE");
        request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
        request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
        request.set("object", pod);
        HttpClient https = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> response = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/inject"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(review))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body()).path("response");
    }

    private void kubectl(String stdin, String... args) {
        new Kubectl(kubeconfig, work).run(stdin, args);
    }
}
