package io.mesh.e2e;

import static io.mesh.e2e.IngressClients.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the ingress ITs that drive the packaged pilot in local mode share: writing its config folder, curl to
 * {@code api.example} on the gateway's HTTP port, waiting, and checking that nothing was refused or NACKed.
 */
final class LocalMeshChecks {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LocalMeshChecks() {
    }

    /** curl to api.example on {@code port} (resolved to 127.0.0.1), with extra arguments: "BODY CODE". */
    static String curl(int port, String path, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "-w", " %{http_code}", "--resolve",
                "api.example:" + port + ":127.0.0.1"));
        cmd.addAll(List.of(args));
        cmd.add("http://api.example:" + port + path);
        return run(cmd);
    }

    static void await(java.util.concurrent.Callable<Boolean> condition, String what) {
        org.awaitility.Awaitility.await(what).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(condition);
    }

    /** Pilot accepted every file, and no proxy NACKed what pilot sent. */
    static void assertNoNack(ProcessHarness harness, RunningComponent pilot) throws Exception {
        HttpResponse<String> configz = harness.get(pilot.monitoring("/debug/configz"));
        for (JsonNode resource : JSON.readTree(configz.body()).path("resources")) {
            assertEquals("Accepted", resource.path("status").asText(), resource.toString());
        }
        HttpResponse<String> syncz = harness.get(pilot.monitoring("/debug/syncz"));
        for (JsonNode proxy : JSON.readTree(syncz.body())) {
            for (Map.Entry<String, JsonNode> e : proxy.path("xds").properties()) {
                assertTrue(e.getValue().path("lastNack").isMissingNode(), "NACK of " + e.getKey() + ": " + e.getValue());
            }
        }
    }

    /** Writes a config file into pilot's folder at once (a rename), so pilot never reads half of it. */
    static void write(Path configDir, String file, String yaml) throws Exception {
        Path tmp = configDir.resolve("." + file + ".tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, configDir.resolve(file), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** An empty config folder for pilot under the harness's work dir (a previous run's files removed). */
    static Path emptyConfigDir(ProcessHarness harness) throws Exception {
        Path dir = harness.workDir().resolve("config");
        if (Files.exists(dir)) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return Files.createDirectories(dir);
    }

    /** The ingress Gateway {@code istio-system/edge}: plain HTTP on {@code port} for {@code shop/api.example}. */
    static String edgeGateway(int port) {
        return """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: %d, name: http, protocol: HTTP}
                    hosts: [shop/api.example]
                ---
                """.formatted(port);
    }
}
