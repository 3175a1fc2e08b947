package io.mesh.injector.kube;

import io.mesh.testing.kube.Kubectl;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.zjsonpatch.JsonPatch;
import io.mesh.injector.Fixtures;
import io.mesh.injector.WebhookClient;
import io.mesh.injector.WebhookLifecycle;
import io.mesh.injector.template.InjectionTemplate;
import io.mesh.testing.kube.KubeApiMock;
import io.mesh.testing.kube.KubeApiMockResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Kubernetes mode against the Fabric8 mock API. The test plays the API server: it applies the webhook
 * configuration and namespaces from YAML, POSTs AdmissionReviews built from real pod YAML to the webhook
 * with the caBundle the injector published, and edits the template ConfigMap.
 */
@QuarkusTest
@TestProfile(KubernetesModeTest.KubernetesMode.class)
@WithTestResource(KubeApiMockResource.class)
class KubernetesModeTest {

    public static class KubernetesMode implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("mesh.mode", "kubernetes", "mesh.injector.state-dir", "");
        }
    }

    private static final Path GOLDEN = Fixtures.RESOURCES.resolve("golden");
    private static final String NAME = "istio-sidecar-injector";
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    KubeApiMock mock;

    @org.eclipse.microprofile.config.inject.ConfigProperty(name = "kube-api-mock.kubeconfig")
    String kubeconfig;

    @Inject
    WebhookLifecycle webhook;

    KubernetesClient kube;

    @BeforeEach
    void applyClusterObjects() throws Exception {
        kube = mock.client("default");
        for (String file : List.of("namespaces.yaml", "mutating-webhook-configuration.yaml")) {
            try (var in = new FileInputStream(Fixtures.RESOURCES.resolve("kube").resolve(file).toFile())) {
                for (HasMetadata object : kube.load(in).items()) {
                    kube.resource(object).createOr(existing -> existing.update());
                }
            }
        }
    }

    @AfterEach
    void close() {
        kube.configMaps().inNamespace("istio-system").withName(NAME).delete();
        kube.close();
    }

    @Test
    void caBundleIsPatchedIntoTheWebhookConfigurationAndVerifiesTheWebhook() {
        String bundle = awaitPublishedBundle(null);
        JsonNode answer = client(bundle).review(review("deployment-pod"));
        assertTrue(answer.path("response").path("allowed").asBoolean());
        assertTrue(Fixtures.patchOf(answer).size() > 0);
    }

    @Test
    void caBundleFollowsARotationAndAnEmptyingReapply() {
        String before = awaitPublishedBundle(null);
        webhook.rotateCertificateNow().toCompletionStage().toCompletableFuture().join();
        String after = awaitPublishedBundle(before);
        assertTrue(after.contains(before.substring(0, before.indexOf("-----END CERTIFICATE-----"))),
                "the new bundle still trusts the previous CA during the rotation");
        assertTrue(client(after).review(review("deployment-pod")).path("response").path("allowed").asBoolean());

        kube.admissionRegistration().v1().mutatingWebhookConfigurations().withName(NAME).edit(c -> {
            c.getWebhooks().forEach(w -> w.getClientConfig().setCaBundle(null));
            return c;
        });
        await().atMost(DEADLINE).until(() -> after.equals(publishedBundle()));
    }

    @Test
    void configurationAppliedByKubectlGetsTheCaBundle() throws Exception {
        String bundle = awaitPublishedBundle(null);
        kube.admissionRegistration().v1().mutatingWebhookConfigurations().withName(NAME).delete();
        await().atMost(DEADLINE).until(() -> kube.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName(NAME).get() == null);

        kubectl("apply", "-f", Fixtures.RESOURCES.resolve("kube/mutating-webhook-configuration.yaml").toAbsolutePath().toString());
        await().atMost(DEADLINE).until(() -> bundle.equals(publishedBundle()));
        String fromKubectl = kubectl("get", "mutatingwebhookconfiguration", NAME, "-o",
                "jsonpath={.webhooks[1].clientConfig.caBundle}");
        assertEquals(bundle, new String(Base64.getDecoder().decode(fromKubectl.strip()), StandardCharsets.US_ASCII));
    }

    private String kubectl(String... args) {
        return new Kubectl(Path.of(kubeconfig), Path.of("target", "kubectl")).run(args);
    }

    @Test
    void namespaceLabelsComeFromTheApi() {
        String bundle = awaitPublishedBundle(null);
        WebhookClient client = client(bundle);

        ObjectNode review = review("deployment-pod");
        JsonNode injected = client.review(review);
        Pod pod = Serialization.unmarshal(JsonPatch.apply(Fixtures.patchOf(injected),
                review.path("request").path("object")).toString(), Pod.class);
        assertEquals("istio-proxy", pod.getSpec().getContainers().get(1).getName());

        JsonNode unlabelled = client.review(review("namespace-without-label"));
        assertTrue(unlabelled.path("response").path("allowed").asBoolean());
        assertNull(unlabelled.path("response").get("patch"));

        kube.namespaces().withName("legacy").edit(n -> {
            n.getMetadata().setLabels(Map.of("istio-injection", "enabled"));
            return n;
        });
        await().atMost(DEADLINE).until(() -> Fixtures.patchOf(client.review(review("namespace-without-label"))) != null);
    }

    @Test
    void templateConfigMapIsReloadedAndABrokenOneIsRefused() {
        WebhookClient client = client(awaitPublishedBundle(null));
        String custom = InjectionTemplate.builtIn().source().replace("    security.istio.io/tlsMode: istio\n",
                "    security.istio.io/tlsMode: istio\n    example.com/template: configmap\n");
        kube.resource(new ConfigMapBuilder().withNewMetadata().withName(NAME).withNamespace("istio-system").endMetadata()
                .withData(Map.of("template", custom)).build()).create();
        await().atMost(DEADLINE).until(() -> labelsAfterInjection(client).containsKey("example.com/template"));

        kube.configMaps().inNamespace("istio-system").withName(NAME).edit(c -> {
            c.setData(Map.of("template", custom.replace("{proxy.image.json}", "{proxy.imag.json}")));
            return c;
        });
        await().atMost(DEADLINE).until(() -> webhook.injector().lastError().isPresent());
        String error = webhook.injector().lastError().get();
        assertTrue(error.contains("ConfigMap istio-system/istio-sidecar-injector") && error.contains("imag"), error);
        assertTrue(labelsAfterInjection(client).containsKey("example.com/template"), "the last good template stays");
        io.restassured.RestAssured.given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'injection template' }.data.refused", org.hamcrest.Matchers.containsString("imag"));

        kube.configMaps().inNamespace("istio-system").withName(NAME).delete();
        await().atMost(DEADLINE).until(() -> !labelsAfterInjection(client).containsKey("example.com/template"));
    }

    private Map<String, String> labelsAfterInjection(WebhookClient client) {
        ObjectNode review = review("deployment-pod");
        JsonNode answer = client.review(review);
        JsonNode injected = JsonPatch.apply(Fixtures.patchOf(answer), review.path("request").path("object"));
        return Serialization.unmarshal(injected.toString(), Pod.class).getMetadata().getLabels();
    }

    private static ObjectNode review(String golden) {
        return Fixtures.admissionReview(Fixtures.yaml(GOLDEN.resolve(golden).resolve("pod.yaml")));
    }

    private WebhookClient client(String bundle) {
        return new WebhookClient(bundle, webhook.webhookPort());
    }

    /** Waits until every webhook has the same, non-empty caBundle, different from {@code previous}. */
    private String awaitPublishedBundle(String previous) {
        await().atMost(DEADLINE).until(() -> {
            String bundle = publishedBundle();
            return bundle != null && !bundle.equals(previous);
        });
        String bundle = publishedBundle();
        assertNotEquals(previous, bundle);
        assertFalse(bundle.isBlank());
        return bundle;
    }

    private String publishedBundle() {
        MutatingWebhookConfiguration configuration = kube.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName(NAME).get();
        List<String> bundles = configuration.getWebhooks().stream().map(MutatingWebhook::getClientConfig)
                .map(c -> c.getCaBundle() == null ? "" : c.getCaBundle()).distinct().toList();
        if (bundles.size() != 1 || bundles.get(0).isEmpty()) {
            return null;
        }
        return new String(Base64.getDecoder().decode(bundles.get(0)), StandardCharsets.US_ASCII);
    }
}
