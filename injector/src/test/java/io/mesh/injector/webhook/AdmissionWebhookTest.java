package io.mesh.injector.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.zjsonpatch.JsonPatch;
import io.mesh.injector.Fixtures;
import io.mesh.injector.WebhookClient;
import io.mesh.injector.WebhookLifecycle;
import io.mesh.testing.Promtool;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.restassured.RestAssured.given;

/**
 * The running webhook over TLS, in local mode: real pod YAML in AdmissionReviews, bad input, and real
 * clients (the JDK's h2 client, curl --cacert, h2load).
 */
@QuarkusTest
class AdmissionWebhookTest {

    private static final Path GOLDEN = Fixtures.RESOURCES.resolve("golden");

    @Inject
    WebhookLifecycle webhook;

    WebhookClient client;
    Path caBundle;

    @BeforeEach
    void connect() throws Exception {
        caBundle = webhook.caBundleFile().orElseThrow().path();
        client = new WebhookClient(Files.readString(caBundle), webhook.webhookPort());
    }

    @Test
    void deploymentPodIsInjectedWithAJsonPatchThatAppliesToAValidPod() {
        ObjectNode pod = Fixtures.yaml(GOLDEN.resolve("deployment-pod/pod.yaml"));
        ObjectNode review = Fixtures.admissionReview(pod);
        JsonNode answer = client.review(review);

        assertEquals("admission.k8s.io/v1", answer.path("apiVersion").asText());
        assertEquals("AdmissionReview", answer.path("kind").asText());
        JsonNode response = answer.path("response");
        assertEquals(review.path("request").path("uid").asText(), response.path("uid").asText());
        assertTrue(response.path("allowed").asBoolean());
        assertEquals("JSONPatch", response.path("patchType").asText());

        JsonNode injected = JsonPatch.apply(Fixtures.patchOf(answer), review.path("request").path("object"));
        Pod parsed = Serialization.unmarshal(injected.toString(), Pod.class);
        assertEquals(List.of("web", "istio-proxy"), parsed.getSpec().getContainers().stream().map(Container::getName).toList());
        assertEquals(List.of("istio-init"), parsed.getSpec().getInitContainers().stream().map(Container::getName).toList());
        String image = parsed.getSpec().getContainers().get(1).getImage();
        assertTrue(image.matches("mesh/gateway:[0-9][^$]*"), "the gateway image of this version, not " + image);

        ObjectNode again = Fixtures.admissionReview((ObjectNode) injected);
        ((ObjectNode) again.path("request")).put("namespace", "shop");
        JsonNode second = client.review(again);
        assertTrue(second.path("response").path("allowed").asBoolean());
        assertNull(second.path("response").get("patch"), "an injected pod is never injected again");
    }

    @Test
    void podInANamespaceWithoutTheLabelIsAdmittedUnchanged() {
        JsonNode answer = client.review(Fixtures.admissionReview(Fixtures.yaml(GOLDEN.resolve("namespace-without-label/pod.yaml"))));
        assertTrue(answer.path("response").path("allowed").asBoolean());
        assertNull(answer.path("response").get("patch"));
        assertNull(answer.path("response").get("patchType"));
    }

    @Test
    void podWithAnUnusableAnnotationIsDeniedWithTheReason() {
        ObjectNode pod = Fixtures.yaml(GOLDEN.resolve("deployment-pod/pod.yaml"));
        ((ObjectNode) pod.path("metadata")).putObject("annotations").put("sidecar.istio.io/proxyCPU", "lots");
        JsonNode response = client.review(Fixtures.admissionReview(pod)).path("response");
        assertFalse(response.path("allowed").asBoolean());
        assertNull(response.get("patch"));
        String message = response.path("status").path("message").asText();
        assertTrue(message.contains("sidecar.istio.io/proxyCPU") && message.contains("'lots'"), message);
        assertEquals(403, response.path("status").path("code").asInt());
    }

    @Test
    void podWhoseVolumeNameClashesWithTheSidecarsIsDenied() {
        ObjectNode pod = Fixtures.yaml(GOLDEN.resolve("deployment-pod/pod.yaml"));
        ((ObjectNode) pod.path("spec").path("volumes").get(0)).put("name", "istio-token");
        JsonNode response = client.review(Fixtures.admissionReview(pod)).path("response");
        assertFalse(response.path("allowed").asBoolean());
        assertTrue(response.path("status").path("message").asText().contains("already has a volume named 'istio-token'"),
                response.toString());
    }

    @Test
    void malformedJsonIsABadRequestWithAMessage() {
        HttpResponse<String> response = client.post("{\"apiVersion\": \"admission.k8s.io/v1\", ");
        assertEquals(400, response.statusCode());
        assertTrue(response.body().startsWith("malformed JSON"), response.body());
    }

    @Test
    void wrongKindIsABadRequest() {
        ObjectNode review = Fixtures.admissionReview(Fixtures.yaml(GOLDEN.resolve("deployment-pod/pod.yaml")));
        review.put("kind", "ConversionReview");
        HttpResponse<String> response = client.post(review.toString());
        assertEquals(400, response.statusCode());
        assertTrue(response.body().contains("kind must be AdmissionReview"), response.body());

        review.put("kind", "AdmissionReview").put("apiVersion", "admission.k8s.io/v1beta1");
        response = client.post(review.toString());
        assertEquals(400, response.statusCode());
        assertTrue(response.body().contains("apiVersion must be admission.k8s.io/v1"), response.body());
    }

    @Test
    void reviewOfSomethingOtherThanAPodIsABadRequest() {
        ObjectNode review = Fixtures.admissionReview(Fixtures.yaml(GOLDEN.resolve("deployment-pod/pod.yaml")));
        ((ObjectNode) review.path("request")).putObject("kind").put("group", "apps").put("version", "v1").put("kind", "Deployment");
        HttpResponse<String> response = client.post(review.toString());
        assertEquals(400, response.statusCode());
        assertTrue(response.body().contains("apps/v1/Deployment"), response.body());
    }

    @Test
    void reviewWithoutAnObjectIsABadRequest() {
        ObjectNode review = Fixtures.admissionReview(Fixtures.yaml(GOLDEN.resolve("deployment-pod/pod.yaml")));
        ((ObjectNode) review.path("request")).remove("object");
        HttpResponse<String> response = client.post(review.toString());
        assertEquals(400, response.statusCode());
        assertEquals("request.object is missing\n", response.body());
    }

    @Test
    void otherMethodsAndPathsAreRefused() {
        assertEquals(405, client.send(HttpRequest.newBuilder(client.injectUri()).GET()).statusCode());
        assertEquals(404, client.send(HttpRequest.newBuilder(client.injectUri().resolve("/mutate")).POST(
                HttpRequest.BodyPublishers.ofString("{}"))).statusCode());
    }

    @Test
    void curlWithTheCaBundleTalksH2ToTheWebhook() throws Exception {
        Path body = writeReview("curl-review.json");
        Process curl = new ProcessBuilder("curl", "-sS", "--fail", "--http2", "--cacert", caBundle.toString(),
                "-H", "Content-Type: application/json", "--data-binary", "@" + body,
                "-w", "\nhttp_version=%{http_version}", "https://localhost:" + webhook.webhookPort() + "/inject")
                .redirectErrorStream(true).start();
        String output = new String(curl.getInputStream().readAllBytes());
        assertTrue(curl.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, curl.exitValue(), output);
        assertTrue(output.endsWith("http_version=2"), output);
        JsonNode answer = Fixtures.JSON.readTree(output.substring(0, output.lastIndexOf('\n')));
        assertTrue(answer.path("response").path("allowed").asBoolean());
        assertNotNull(Fixtures.patchOf(answer));
    }

    @Test
    void curlWithoutTheCaBundleRefusesTheCertificate() throws Exception {
        Process curl = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "-X", "POST",
                "https://localhost:" + webhook.webhookPort() + "/inject").redirectErrorStream(true).start();
        String output = new String(curl.getInputStream().readAllBytes());
        assertTrue(curl.waitFor(30, TimeUnit.SECONDS));
        assertEquals(60, curl.exitValue(), "curl: peer certificate cannot be authenticated; got: " + output);
    }

    @Test
    void h2loadCompletesEveryReview() throws Exception {
        Path body = writeReview("h2load-review.json");
        List<String> command = new ArrayList<>(List.of("h2load", "-n", "200", "-c", "2", "-m", "8", "-d", body.toString(),
                "-H", "Content-Type: application/json", "https://127.0.0.1:" + webhook.webhookPort() + "/inject"));
        Process h2load = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(h2load.getInputStream().readAllBytes());
        assertTrue(h2load.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, h2load.exitValue(), output);
        assertTrue(output.contains("Application protocol: h2"), output);
        assertTrue(output.contains("requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, 0 errored"), output);
        assertTrue(output.contains("status codes: 200 2xx"), output);
    }

    @Test
    void injectionMetricsAreCountedAndPassPromtool() {
        client.review(Fixtures.admissionReview(Fixtures.yaml(GOLDEN.resolve("deployment-pod/pod.yaml"))));
        client.review(Fixtures.admissionReview(Fixtures.yaml(GOLDEN.resolve("opted-out/pod.yaml"))));
        String metrics = given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics").then().statusCode(200).extract().asString();
        Promtool.assertValidMetrics(metrics);
        for (String name : List.of("sidecar_injection_requests_total", "sidecar_injection_success_total",
                "sidecar_injection_skip_total", "sidecar_injection_failure_total", "sidecar_injection_time_seconds_bucket",
                "sidecar_injection_template_reloads_total{result=\"applied\"")) {
            assertTrue(metrics.contains(name), name + " missing from\n" + metrics);
        }
    }

    private Path writeReview(String name) throws Exception {
        Path body = Path.of("target", name);
        Files.writeString(body, Fixtures.admissionReview(Fixtures.yaml(GOLDEN.resolve("deployment-pod/pod.yaml"))).toString());
        return body.toAbsolutePath();
    }
}
