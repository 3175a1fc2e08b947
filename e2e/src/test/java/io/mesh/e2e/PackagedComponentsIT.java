package io.mesh.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.testing.Promtool;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each packaged jar starts with no configuration but its ports, becomes ready, and serves lint-clean metrics. */
class PackagedComponentsIT {

    @RegisterExtension
    final ProcessHarness harness = new ProcessHarness().named("packaged-components");

    @ParameterizedTest
    @EnumSource(Component.class)
    void packagedComponentStartsReadyAndServesMetrics(Component component) throws Exception {
        RunningComponent running = harness.start(component, Map.of());

        assertEquals(200, harness.get(running.monitoring("/q/health/live")).statusCode());
        HttpResponse<String> metrics = java.net.http.HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(running.monitoring("/q/metrics")).header("Accept", Promtool.PROMETHEUS_TEXT).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        Promtool.assertValidMetrics(metrics.body());
        // One clear line says what the component listens on, naming its monitoring port.
        String startLine = java.nio.file.Files.readAllLines(running.process().log()).stream()
                .filter(line -> line.matches(".*\\b" + component.id() + "\\b.*listening.*")).findFirst()
                .orElseThrow(() -> new AssertionError(component.id() + " logged no 'listening' line:\n" + running.process().logTail(40)));
        org.junit.jupiter.api.Assertions.assertTrue(startLine.contains(":" + running.monitoringPort()), startLine);
        URI unknown = running.monitoring("/no-such-endpoint");
        assertEquals(404, harness.get(unknown).statusCode());
    }
}
