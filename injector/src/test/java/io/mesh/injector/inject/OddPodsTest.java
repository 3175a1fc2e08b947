package io.mesh.injector.inject;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mesh.injector.Fixtures;
import io.mesh.injector.template.InjectionTemplate;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Objects no API server would send still get an answer (a skip, a patch or a refusal), never an exception. */
class OddPodsTest {

    private static final SidecarInjector INJECTOR = new SidecarInjector(InjectionTemplate.builtIn(), Fixtures.MESH);

    @ParameterizedTest
    @ValueSource(strings = {
        "{}",
        "{\"metadata\": \"web\", \"spec\": {\"containers\": [{\"name\": \"web\"}]}}",
        "{\"metadata\": {\"labels\": {\"n\": 1, \"o\": {\"a\": true}}}, \"spec\": {\"containers\": [{\"name\": \"web\"}]}}",
        "{\"spec\": {\"containers\": {\"name\": \"web\"}}}",
        "{\"spec\": {\"containers\": [1, \"x\", null]}}",
        "{\"spec\": {\"containers\": [{}], \"volumes\": \"none\"}}",
        "{\"spec\": {\"containers\": [{\"name\": \"web\", \"readinessProbe\": {\"httpGet\": {\"port\": 99999999999}}}]}}",
        "{\"spec\": {\"containers\": [{\"name\": \"web\", \"livenessProbe\": {\"tcpSocket\": {\"port\": \"nope\"}}}]}}",
        "{\"spec\": \"x\"}",
        "{\"metadata\": {\"annotations\": {\"proxy.istio.io/config\": \"&a [*a, *a]\"}}, \"spec\": {\"containers\": [{\"name\": \"web\"}]}}",
    })
    void oddPodGetsAnOutcome(String json) throws IOException {
        ObjectNode pod = (ObjectNode) Fixtures.JSON.readTree(json);
        InjectionOutcome outcome = INJECTOR.inject(pod, "shop", Map.of(InjectionPolicy.NAMESPACE_LABEL, "enabled"));
        assertNotNull(outcome.kind());
    }
}
