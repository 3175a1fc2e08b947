package io.mesh.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.zjsonpatch.JsonPatch;
import io.mesh.testing.FreePorts;
import io.mesh.testing.kube.KubeApiMock;
import io.mesh.testing.kube.Kubectl;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * meshctl kube-inject against the real injector, started from its packaged jar: the output's Deployment is what
 * the webhook gives the pod its ReplicaSet would create (the same pod POSTed with curl, the patch applied), other
 * documents come out byte for byte, opted-out and already injected workloads are left alone, and an injector
 * that refuses or cannot be reached is an exit 1 naming the document, with nothing printed.
 */
class KubeInjectIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @RegisterExtension
    static final ProcessHarness HARNESS = new ProcessHarness().named("kube-inject").keepBetweenTests();

    private static RunningComponent injector;
    private static String webhook;
    private static Path ca;

    /** What meshctl did: its exit code, standard output and standard error. */
    record Run(int exit, String out, String err) {
    }

    private static final String APP = """
            # The demo app: a Service, its config and its Deployment.
            apiVersion: v1
            kind: Service
            metadata:
              name: web   # the name callers use
              namespace: shop
            spec:
              selector: {app: web}
              ports:
              - {name: http, port: 80, targetPort: 8080}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: web-config
              namespace: shop
            data:
              enabled: "true"
              port: "8080"
            --- # the workload
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
              namespace: shop
            spec:
              replicas: 2
              selector:
                matchLabels: {app: web}
              template:
                metadata:
                  labels: {app: web, version: v1}
                spec:
                  containers:
                  - name: web
                    image: hashicorp/http-echo:1.0
                    args: ["-listen=:8080", "-text=hello"]
                    ports:
                    - containerPort: 8080
                    readinessProbe:
                      httpGet: {path: /, port: 8080}
            """;

    @BeforeAll
    static void startTheInjector() {
        // Namespace shop is labelled istio-injection=enabled for the webhook (local mode's stand-in for the label).
        injector = HARNESS.start(Component.INJECTOR, Map.of("MESH_INJECTOR_LOCAL_INJECTED_NAMESPACES", "shop"));
        webhook = "https://127.0.0.1:" + injector.env().get("MESH_INJECTOR_WEBHOOK_PORT");
        ca = HARNESS.workDir().resolve("state/injector/webhook-ca.pem");
    }

    @Test
    void theInjectedDeploymentIsWhatTheWebhookGivesItsPodAndTheOtherDocumentsAreUnchanged() throws Exception {
        Run run = meshctl(APP, "kube-inject", "-f", file("app.yaml", APP), "--injector", webhook, "--injector-ca", ca.toString());
        assertEquals(0, run.exit(), run.err());
        assertEquals("", run.err());
        String untouched = APP.substring(0, APP.indexOf("--- # the workload\n") + "--- # the workload\n".length());
        assertTrue(run.out().startsWith(untouched), "the Service and ConfigMap come out as written:\n" + run.out());

        JsonNode deployment = YAML.readTree(run.out().substring(untouched.length()));
        assertEquals(YAML.readTree(APP.substring(untouched.length())).path("metadata"), deployment.path("metadata"));
        assertEquals(2, deployment.path("spec").path("replicas").asInt());
        JsonNode template = deployment.path("spec").path("template");
        assertEquals(List.of("web", "istio-proxy"), names(template.path("spec").path("containers")));
        assertEquals(List.of("istio-init"), names(template.path("spec").path("initContainers")));
        JsonNode init = template.path("spec").path("initContainers").path(0);
        assertTrue(init.path("args").toString().contains("init-iptables"), init.toString());
        assertTrue(init.path("args").toString().contains("--inbound-capture-port=15006"), init.toString());
        assertTrue(init.path("securityContext").path("capabilities").path("add").toString().contains("NET_ADMIN"), init.toString());
        JsonNode metadata = template.path("metadata");
        assertEquals("istio", metadata.path("labels").path("security.istio.io/tlsMode").asText());
        assertTrue(metadata.path("annotations").has("sidecar.istio.io/status"), metadata.toString());
        // What meshctl gave the pod to stand for its controller's does not stay in the template ...
        assertFalse(metadata.path("labels").has("pod-template-hash"), metadata.toString());
        assertFalse(metadata.path("labels").has("sidecar.istio.io/inject"), metadata.toString());
        assertFalse(metadata.has("generateName") || metadata.has("ownerReferences") || metadata.has("name"), metadata.toString());
        // ... but the injector named the sidecar's workload after the Deployment, as for the real pod.
        JsonNode proxy = template.path("spec").path("containers").path(1);
        assertEquals("web", env(proxy, "ISTIO_META_WORKLOAD_NAME"));
        assertEquals("kubernetes://apis/apps/v1/namespaces/shop/deployments/web", env(proxy, "ISTIO_META_OWNER"));
        // The app's probe now goes through the sidecar, as the webhook rewrites it.
        assertEquals(15020, template.path("spec").path("containers").path(0).path("readinessProbe").path("httpGet").path("port").asInt());

        // The webhook path: the pod the Deployment's ReplicaSet creates, sent by curl as the API server would.
        ObjectNode pod = (ObjectNode) JSON.readTree("""
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"generateName": "web-6b7f9d4c8-", "labels": {"app": "web", "version": "v1", "pod-template-hash": "6b7f9d4c8"},
                   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6b7f9d4c8", "uid": "1",
                     "controller": true, "blockOwnerDeletion": true}]},
                 "spec": {}}""");
        pod.set("spec", YAML.readTree(APP.substring(untouched.length())).path("spec").path("template").path("spec"));
        JsonNode webhookPod = admitWithCurl(pod, "shop");
        ObjectNode webhookMetadata = (ObjectNode) webhookPod.path("metadata").deepCopy();
        ((ObjectNode) webhookMetadata.path("labels")).remove("pod-template-hash");
        webhookMetadata.remove(List.of("generateName", "ownerReferences"));
        assertEquals(webhookMetadata, metadata, "the template's metadata is the webhook's pod's");
        assertEquals(webhookPod.path("spec"), template.path("spec"), "the template's spec is the webhook's pod's");
    }

    @Test
    void stdinWorksAndOptedOutOrAlreadyInjectedWorkloadsComeOutAsWritten() throws Exception {
        String optedOut = """
                apiVersion: apps/v1
                kind: StatefulSet
                metadata: {name: db}   # stays as is
                spec:
                  template:
                    metadata:
                      labels: {app: db, sidecar.istio.io/inject: "false"}
                    spec:
                      containers: [{name: db, image: postgres}]
                """;
        String bare = """
                apiVersion: v1
                kind: Pod
                metadata: {name: tool, labels: {app: tool}}
                spec:
                  containers: [{name: tool, image: busybox}]
                """;
        Path output = HARNESS.workDir().resolve("injected.yaml");
        Files.deleteIfExists(output);
        Run run = meshctl(optedOut + "---\n" + bare, "kube-inject", "-f", "-", "-o", output.toString(), "--namespace", "tools",
                "--injector", webhook, "--injector-ca", ca.toString());
        assertEquals(0, run.exit(), run.err());
        assertEquals("", run.out(), "with -o the result goes to the file");
        assertTrue(run.err().contains("document 1 (line 1) (StatefulSet tools/db, spec.template): not injected, the injector left it "
                + "unchanged (it has sidecar.istio.io/inject=false)"), run.err());
        String injected = Files.readString(output);
        assertTrue(injected.startsWith(optedOut + "---\n"), injected);
        // namespace tools is not labelled for injection: kube-inject asks anyway, as istioctl's does.
        JsonNode tool = YAML.readTree(injected.substring(optedOut.length() + 4));
        assertEquals(List.of("tool", "istio-proxy"), names(tool.path("spec").path("containers")));
        assertEquals("tool", env(tool.path("spec").path("containers").path(1), "ISTIO_META_WORKLOAD_NAME"));

        // Injecting the result again changes nothing: the injector never injects twice.
        Run again = meshctl(injected, "kube-inject", "-f", "-", "--injector", webhook, "--injector-ca", ca.toString());
        assertEquals(0, again.exit(), again.err());
        assertEquals(injected, again.out());
        assertTrue(again.err().contains("(Pod default/tool): not injected, the injector left it unchanged (it is already injected)"),
                again.err());
    }

    @Test
    void theLocalMeshsInjectorIsFoundFromItsRunFolder() throws Exception {
        // The runner's layout: <run>/endpoints and <run>/state/injector/webhook-ca.pem; the webhook port from mesh.env.
        Files.writeString(HARNESS.workDir().resolve("endpoints"),
                "injector " + injector.monitoring("/q/health/ready") + "\n");
        Run run = meshctlWith(Map.of("MESH_RUN_DIR", HARNESS.workDir().toString(),
                "MESH_INJECTOR_WEBHOOK_PORT", injector.env().get("MESH_INJECTOR_WEBHOOK_PORT")), APP, "kube-inject", "-f", "-");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("istio-proxy"), run.out());
    }

    /**
     * On a cluster meshctl POSTs to the API server's service proxy for the injector's Service. The mock API server
     * cannot proxy by itself, so its expectation does what the API server does: it passes the request body to the
     * injector's pod (the real injector here) over HTTPS and answers with the injector's answer.
     */
    @Test
    void onAClusterTheInjectorIsAskedThroughTheApiServersServiceProxy() throws Exception {
        try (KubeApiMock api = KubeApiMock.start(0, false, false)) {
            List<String> proxied = new java.util.concurrent.CopyOnWriteArrayList<>();
            api.expect().post().withPath("/api/v1/namespaces/istio-system/services/https:istio-sidecar-injector:443/proxy/inject")
                    .andReply(200, request -> {
                        proxied.add(request.getHeader("Content-Type"));
                        return curl(request.getUtf8Body());
                    }).always();
            Path kubeconfig = api.writeKubeconfig(HARNESS.workDir().resolve("kubeconfig"), "default");
            Run run = meshctl(APP, "kube-inject", "-f", "-", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
            assertEquals(0, run.exit(), run.err());
            assertEquals(List.of("application/json"), proxied, "one pod template, one AdmissionReview through the service proxy");
            JsonNode deployment = YAML.readTree(run.out().substring(run.out().indexOf("apiVersion: apps/v1")));
            assertEquals(List.of("web", "istio-proxy"), names(deployment.path("spec").path("template").path("spec").path("containers")));

            // meshctl kube-inject -f app.yaml | kubectl apply -f -: the real kubectl takes the output as it is.
            Kubectl kubectl = new Kubectl(kubeconfig, HARNESS.workDir());
            kubectl(kubectl, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n", "apply", "-f", "-");
            kubectl(kubectl, run.out(), "apply", "-f", "-");
            JsonNode applied = JSON.readTree(kubectl(kubectl, null, "-n", "shop", "get", "deployment", "web", "-o", "json"));
            assertEquals(deployment.path("spec").path("template"), applied.path("spec").path("template"));
            assertEquals("8080", kubectl(kubectl, null, "-n", "shop", "get", "configmap", "web-config", "-o", "jsonpath={.data.port}").strip());

            api.reset();
            Run unanswered = meshctl(APP, "kube-inject", "-f", "-", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
            assertEquals(1, unanswered.exit(), unanswered.err());
            assertTrue(unanswered.err().contains("(Deployment shop/web, spec.template): the injector "), unanswered.err());
            assertTrue(unanswered.err().contains("service istio-system/istio-sidecar-injector:443 through " + api.url()), unanswered.err());
        }
    }

    /**
     * After {@code kubectl port-forward}, --injector alone is enough on a cluster: meshctl trusts the webhook with the
     * caBundle of its MutatingWebhookConfiguration, as the API server does. Without that configuration the JDK's trust
     * store is all there is, and the self-signed webhook is refused.
     */
    @Test
    void afterAPortForwardTheWebhookIsTrustedByItsConfigurationsCaBundle() throws Exception {
        try (KubeApiMock api = KubeApiMock.start(0, false, false)) {
            Path kubeconfig = api.writeKubeconfig(HARNESS.workDir().resolve("kubeconfig-ca"), "default");
            Run untrusted = meshctl(APP, "kube-inject", "-f", "-", "--mode", "kubernetes", "--kubeconfig",
                    kubeconfig.toString(), "--injector", webhook);
            assertEquals(1, untrusted.exit(), untrusted.err());
            assertTrue(untrusted.err().contains("cannot reach the injector at " + webhook + "/inject: "), untrusted.err());

            api.client("default").resource("""
                    apiVersion: admissionregistration.k8s.io/v1
                    kind: MutatingWebhookConfiguration
                    metadata: {name: istio-sidecar-injector}
                    webhooks:
                    - name: namespace.sidecar-injector.istio.io
                      clientConfig:
                        service: {name: istio-sidecar-injector, namespace: istio-system, path: /inject, port: 443}
                        caBundle: %s
                      admissionReviewVersions: [v1]
                      sideEffects: None
                    """.formatted(Base64.getEncoder().encodeToString(Files.readAllBytes(ca)))).create();
            Run run = meshctl(APP, "kube-inject", "-f", "-", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString(),
                    "--injector", webhook);
            assertEquals(0, run.exit(), run.err());
            JsonNode deployment = YAML.readTree(run.out().substring(run.out().indexOf("apiVersion: apps/v1")));
            assertEquals(List.of("web", "istio-proxy"), names(deployment.path("spec").path("template").path("spec").path("containers")));
        }
    }

    @Test
    void aRefusingOrUnreachableInjectorIsExitOneNamingTheDocumentWithNothingPrinted() throws Exception {
        String badAnnotation = APP.replace("labels: {app: web, version: v1}",
                "labels: {app: web, version: v1}\n      annotations: {sidecar.istio.io/proxyCPU: lots}");
        Run refused = meshctl(badAnnotation, "kube-inject", "-f", "-", "--injector", webhook, "--injector-ca", ca.toString());
        assertEquals(1, refused.exit(), refused.err());
        assertEquals("", refused.out());
        assertTrue(refused.err().startsWith("kube-inject: document 3 (line 21) (Deployment shop/web, spec.template): "
                + "the injector refused it: "), refused.err());
        assertTrue(refused.err().contains("sidecar.istio.io/proxyCPU"), refused.err());

        String closed = "https://127.0.0.1:" + FreePorts.next();
        Run unreachable = meshctl(APP, "kube-inject", "-f", "-", "--injector", closed, "--injector-ca", ca.toString());
        assertEquals(1, unreachable.exit(), unreachable.err());
        assertEquals("", unreachable.out());
        assertTrue(unreachable.err().startsWith("kube-inject: document 3 (line 21) (Deployment shop/web, spec.template): "
                + "cannot reach the injector at " + closed + "/inject"), unreachable.err());

        Run usage = meshctl("", "kube-inject", "--injector", webhook);
        assertEquals(2, usage.exit(), usage.err());
        assertTrue(usage.err().contains("Missing required option: '--filename=FILE'"), usage.err());
    }

    /** The pod as the injector's webhook admits it: an AdmissionReview POSTed by curl, its patch applied. */
    private static JsonNode admitWithCurl(ObjectNode pod, String namespace) throws Exception {
        ObjectNode review = JSON.createObjectNode();
        review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request");
        request.put("uid", "kube-inject-it").put("namespace", namespace).put("operation", "CREATE");
        request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
        request.set("object", pod);
        String answer = curl(JSON.writeValueAsString(review));
        JsonNode response = JSON.readTree(answer).path("response");
        assertTrue(response.path("allowed").asBoolean(), answer);
        return JsonPatch.apply(JSON.readTree(Base64.getDecoder().decode(response.path("patch").asText())), pod);
    }

    /** POSTs an AdmissionReview to the injector's webhook with curl, verifying its certificate; returns the answer. */
    private static synchronized String curl(String review) {
        try {
            Path body = HARNESS.workDir().resolve("review.json");
            Files.writeString(body, review);
            Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "10", "--cacert", ca.toString(),
                    "-H", "Content-Type: application/json", "--data-binary", "@" + body, webhook + "/inject").start();
            String answer = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(curl.waitFor(20, TimeUnit.SECONDS), "curl");
            assertEquals(0, curl.exitValue(), new String(curl.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            return answer;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static Run meshctl(String stdin, String... args) throws Exception {
        return meshctlWith(Map.of(), stdin, args);
    }

    /** Runs ./meshctl with its own standard input, output and error (the YAML must not mix with the notes). */
    private static Run meshctlWith(Map<String, String> env, String stdin, String... args) throws Exception {
        Path dir = Files.createDirectories(HARNESS.workDir().resolve("meshctl"));
        Path in = dir.resolve("stdin.yaml");
        Path out = dir.resolve("stdout.yaml");
        Path err = dir.resolve("stderr.txt");
        Files.writeString(in, stdin);
        List<String> command = new ArrayList<>(List.of("bash", HARNESS.projectRoot().resolve("meshctl").toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(HARNESS.workDir().toFile())
                .redirectInput(in.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().putAll(env);
        if (!env.containsKey("MESH_RUN_DIR")) {
            // No local mesh: --injector says where the injector is.
            builder.environment().put("MESH_RUN_DIR", dir.resolve("no-run-folder").toString());
        }
        Process process = builder.start();
        try {
            assertTrue(process.waitFor(2, TimeUnit.MINUTES), "meshctl " + String.join(" ", args) + " did not exit");
        } finally {
            process.destroyForcibly();
        }
        Run run = new Run(process.exitValue(), Files.readString(out), Files.readString(err));
        System.out.printf("meshctl %s exited %d%n%s%n", String.join(" ", args), run.exit(), run.err());
        return run;
    }

    private static String kubectl(Kubectl kubectl, String stdin, String... args) {
        return kubectl.run(stdin, args);
    }

    private static String file(String name, String content) throws IOException {
        Path path = HARNESS.workDir().resolve(name);
        Files.writeString(path, content);
        return path.toString();
    }

    private static List<String> names(JsonNode items) {
        List<String> names = new ArrayList<>();
        items.forEach(item -> names.add(item.path("name").asText()));
        return names;
    }

    private static String env(JsonNode container, String name) {
        for (JsonNode variable : container.path("env")) {
            if (name.equals(variable.path("name").asText())) {
                return variable.path("value").asText();
            }
        }
        return "";
    }
}
