package io.mesh.injector.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.zjsonpatch.JsonPatch;
import io.mesh.injector.Fixtures;
import io.mesh.injector.template.InjectionTemplate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden fixtures: src/test/resources/golden/CASE/pod.yaml (and namespace.yaml, else the labelled
 * enabled-namespace.yaml) in, CASE/patch.json out. An empty patch means the pod is left alone.
 * Regenerate after an intended change with {@code -Dgolden.update=true}, then review the diff.
 */
class GoldenInjectionTest {

    private static final Path GOLDEN = Fixtures.RESOURCES.resolve("golden");
    private static final SidecarInjector INJECTOR = new SidecarInjector(InjectionTemplate.builtIn(), Fixtures.MESH);

    static Stream<String> cases() throws IOException {
        try (Stream<Path> dirs = Files.list(GOLDEN)) {
            return dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString()).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void podInPatchOut(String name) throws IOException {
        Path dir = GOLDEN.resolve(name);
        ObjectNode pod = Fixtures.yaml(dir.resolve("pod.yaml"));
        InjectionOutcome outcome = inject(dir, pod);
        assertTrue(outcome.kind() != InjectionOutcome.Kind.REFUSED, () -> "refused: " + outcome.reason());
        JsonNode patch = outcome.patch() == null ? Fixtures.JSON.createArrayNode() : outcome.patch();
        Path expected = dir.resolve("patch.json");
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(expected, Fixtures.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(patch) + "\n");
        }
        assertEquals(Fixtures.JSON.readTree(expected.toFile()), patch,
                () -> name + ": the patch differs from " + expected + " (regenerate with -Dgolden.update=true)");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void patchAppliesToAValidPodAndReinjectionAddsNothing(String name) {
        Path dir = GOLDEN.resolve(name);
        ObjectNode pod = Fixtures.yaml(dir.resolve("pod.yaml"));
        InjectionOutcome outcome = inject(dir, pod);
        if (outcome.kind() == InjectionOutcome.Kind.SKIPPED) {
            return;
        }
        JsonNode injected = JsonPatch.apply(outcome.patch(), pod);
        Pod parsed = Serialization.unmarshal(injected.toString(), Pod.class);

        List<String> containers = parsed.getSpec().getContainers().stream().map(Container::getName).toList();
        assertTrue(containers.contains("istio-proxy"), () -> "no sidecar in " + containers);
        List<String> inits = parsed.getSpec().getInitContainers().stream().map(Container::getName).toList();
        assertEquals("istio-init", inits.get(inits.size() - 1), "the capture-init container runs last");
        assertNotNull(parsed.getMetadata().getAnnotations().get("sidecar.istio.io/status"));
        assertEquals(Fixtures.JSON.valueToTree(parsed), Fixtures.JSON.valueToTree(
                Serialization.unmarshal(Serialization.asJson(parsed), Pod.class)), "the pod round-trips through the model");

        InjectionOutcome again = inject(dir, (ObjectNode) injected);
        assertEquals(InjectionOutcome.Kind.SKIPPED, again.kind());
        assertEquals("the pod is already injected", again.reason());
    }

    private static InjectionOutcome inject(Path dir, ObjectNode pod) {
        Path namespaceFile = Files.exists(dir.resolve("namespace.yaml")) ? dir.resolve("namespace.yaml")
                : GOLDEN.resolve("enabled-namespace.yaml");
        ObjectNode namespace = Fixtures.yaml(namespaceFile);
        Map<String, String> labels = Fixtures.JSON.convertValue(namespace.path("metadata").path("labels"),
                Fixtures.JSON.getTypeFactory().constructMapType(Map.class, String.class, String.class));
        return INJECTOR.inject(pod, namespace.path("metadata").path("name").asText(), labels);
    }
}
