package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** meshctl install renders what the real {@code kubectl kustomize deploy/kubernetes} renders, in apply order. */
class ManifestRendererTest {

    private static final Path KUSTOMIZATION = Path.of("..", "deploy", "kubernetes").toAbsolutePath().normalize();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @Test
    void installRendersExactlyWhatKubectlKustomizeRenders() throws Exception {
        Set<JsonNode> ours = new HashSet<>(reparse(ManifestRenderer.toYaml(
                new ManifestRenderer(ManifestRenderer.Source.folder(KUSTOMIZATION)).render(InstallOverrides.none()))));
        Set<JsonNode> kubectl = new HashSet<>(reparse(kubectlKustomize()));
        assertEquals(kubectl.size(), ours.size());
        assertEquals(kubectl, ours);
    }

    @Test
    void thePackagedManifestsAreTheRepositorysOwn() {
        assertEquals(new ManifestRenderer(ManifestRenderer.Source.folder(KUSTOMIZATION)).render(InstallOverrides.none()),
                new ManifestRenderer(ManifestRenderer.Source.classpath()).render(InstallOverrides.none()));
    }

    @Test
    void namespaceAndCrdsComeFirstAndTheWebhookLast() {
        List<ObjectNode> objects = new ManifestRenderer(ManifestRenderer.Source.classpath()).render(InstallOverrides.none());
        assertEquals("Namespace", objects.get(0).path("kind").asText());
        for (int i = 1; i <= 9; i++) {
            assertEquals("CustomResourceDefinition", objects.get(i).path("kind").asText());
        }
        assertEquals("MutatingWebhookConfiguration", objects.get(objects.size() - 1).path("kind").asText());
        assertEquals("Namespace", ManifestRenderer.deletionOrder(objects).get(objects.size() - 1).path("kind").asText());
    }

    @Test
    void setOverridesImagesTrustDomainAndRevision() {
        InstallOverrides overrides = InstallOverrides.parse(List.of("hub=registry.example/team", "tag=0.2.0",
                "trustDomain=example.org", "revision=canary"));
        List<ObjectNode> objects = new ManifestRenderer(ManifestRenderer.Source.classpath()).render(overrides);
        List<String> images = new ArrayList<>();
        for (ObjectNode object : objects) {
            assertEquals("canary", object.path("metadata").path("labels").path("istio.io/rev").asText(), object.toString());
            object.path("spec").path("template").path("spec").path("containers").forEach(c -> images.add(c.path("image").asText()));
            if (object.path("kind").asText().equals("ConfigMap") && object.path("metadata").path("name").asText().equals("istio")) {
                assertEquals("example.org", object.path("data").path("trustDomain").asText());
            }
        }
        assertEquals(5, images.size());
        images.forEach(image -> assertTrue(image.matches("registry\\.example/team/(pilot|citadel|gateway|injector|telemetry):0\\.2\\.0"), image));
    }

    @Test
    void anUnknownSetKeyIsRefusedNamingTheKnownKeys() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InstallOverrides.parse(List.of("image=x")));
        assertEquals("--set image=x: unknown key 'image'; known keys: hub, revision, tag, trustDomain", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> InstallOverrides.parse(List.of("tag=")));
    }

    private static List<JsonNode> reparse(String yaml) throws Exception {
        List<JsonNode> documents = new ArrayList<>();
        for (JsonNode document : YAML.readValues(YAML.getFactory().createParser(yaml), JsonNode.class).readAll()) {
            if (document != null && !document.isEmpty()) {
                documents.add(document);
            }
        }
        return documents;
    }

    private static String kubectlKustomize() throws Exception {
        Process process = new ProcessBuilder("kubectl", "kustomize", KUSTOMIZATION.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue());
        return output;
    }
}
