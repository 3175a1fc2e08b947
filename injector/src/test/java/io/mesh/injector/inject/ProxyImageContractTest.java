package io.mesh.injector.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.mesh.injector.Fixtures;
import io.mesh.injector.template.InjectionTemplate;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The injected containers against the gateway image they run: the image's entrypoint starts the gateway's JVM, so the
 * init container and the proxy pass their subcommand as {@code args} and set no {@code command} (an image has no
 * {@code gateway} executable), and the postStart exec hook, which has no entrypoint, runs the jar where the image
 * puts it: {@code quarkus.jib.working-directory} of gateway's application.properties.
 */
class ProxyImageContractTest {

    private static final Path GATEWAY_PROPERTIES = Path.of("..", "gateway", "src", "main", "resources", "application.properties");

    @Test
    void containersPassSubcommandsToTheImageEntrypointAndTheHookRunsTheImagesJar() throws IOException {
        List<JsonNode> containers = injectedContainers("override-annotations");
        JsonNode init = byName(containers, "istio-init");
        JsonNode proxy = byName(containers, "istio-proxy");
        assertFalse(init.has("command"), init.toString());
        assertFalse(proxy.has("command"), proxy.toString());
        assertEquals("init-iptables", init.get("args").get(0).asText());
        assertEquals("sidecar", proxy.get("args").get(0).asText());

        Properties gateway = new Properties();
        try (Reader r = Files.newBufferedReader(GATEWAY_PROPERTIES)) {
            gateway.load(r);
        }
        String jar = gateway.getProperty("quarkus.jib.working-directory") + "/quarkus-run.jar";
        JsonNode hook = proxy.at("/lifecycle/postStart/exec/command");
        assertEquals(List.of("java", "-jar", jar, "wait"), List.of(hook.get(0).asText(), hook.get(1).asText(),
                hook.get(2).asText(), hook.get(3).asText()));
    }

    @Test
    void theProxyRunsWithTheJvmSettingsTheSidecarBenchmarkMeasures() throws IOException {
        List<JsonNode> containers = injectedContainers("deployment-pod");
        String injected = null;
        for (JsonNode e : byName(containers, "istio-proxy").get("env")) {
            if (e.get("name").asText().equals("JAVA_TOOL_OPTIONS")) {
                injected = e.get("value").asText();
            }
        }
        String script = Files.readString(Path.of("..", "bench", "sidecar.sh"));
        String marker = "SIDECAR_JAVA_OPTS=${SIDECAR_JAVA_OPTS:-";
        int start = script.indexOf(marker) + marker.length();
        String measured = script.substring(start, script.indexOf('}', start)).replace("\\\n", " ").replaceAll("\\s+", " ").strip();
        assertEquals(measured, injected);
    }

    /** The containers the injector adds to golden case {@code name}'s pod (alone, or in a new initContainers list). */
    private static List<JsonNode> injectedContainers(String name) {
        Path dir = Fixtures.RESOURCES.resolve("golden").resolve(name);
        JsonNode namespace = Fixtures.yaml(Fixtures.RESOURCES.resolve("golden").resolve("enabled-namespace.yaml"));
        Map<String, String> labels = Fixtures.JSON.convertValue(namespace.path("metadata").path("labels"),
                Fixtures.JSON.getTypeFactory().constructMapType(Map.class, String.class, String.class));
        JsonNode patch = new SidecarInjector(InjectionTemplate.builtIn(), Fixtures.MESH)
                .inject(Fixtures.yaml(dir.resolve("pod.yaml")), namespace.path("metadata").path("name").asText(), labels)
                .patch();
        assertNotNull(patch, name + " is injected");
        List<JsonNode> containers = new ArrayList<>();
        patch.forEach(op -> {
            JsonNode v = op.get("value");
            for (JsonNode c : v != null && v.isArray() ? v : List.of(v == null ? Fixtures.JSON.nullNode() : v)) {
                if (c.has("name") && c.has("image")) {
                    containers.add(c);
                }
            }
        });
        return containers;
    }

    private static JsonNode byName(List<JsonNode> containers, String name) {
        return containers.stream().filter(c -> c.get("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in the patch"));
    }
}
