package io.mesh.injector.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.injector.Fixtures;
import io.mesh.injector.template.InjectionTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CurrentInjectorTest {

    private static final String BUILT_IN = InjectionTemplate.builtIn().source();

    static Stream<Arguments> brokenTemplates() {
        return Stream.of(
                Arguments.of("an unknown value", (UnaryOperator<String>) t -> t.replace("{proxy.image.json}", "{proxy.imag.json}"),
                        "failed to render", "proxy.imag"),
                Arguments.of("an unclosed section", (UnaryOperator<String>) t -> t.replace("{/if}", ""),
                        "does not parse", "if"),
                Arguments.of("YAML that does not parse", (UnaryOperator<String>) t -> t.replace("  initContainers:\n", "  initContainers:\n - x: [\n"),
                        "rendered invalid YAML", ""),
                Arguments.of("a field of the wrong type", (UnaryOperator<String>) t -> t.replace("runAsNonRoot: true", "runAsNonRoot: [yes]"),
                        "does not produce a valid Pod", ""),
                Arguments.of("no istio-proxy container", (UnaryOperator<String>) t -> t.replace("- name: istio-proxy", "- name: proxy"),
                        "has no container named istio-proxy", ""),
                Arguments.of("a list that is not a list", (UnaryOperator<String>) t -> t.replace("  volumes:\n  - name: istio-token\n", "  volumes: 3\n  x:\n  - name: istio-token\n"),
                        "spec.volumes must be a list", ""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenTemplates")
    void brokenTemplateIsRefusedWithTheReasonAndTheLastGoodStays(String name, UnaryOperator<String> breakIt,
            String expected, String detail) {
        List<CurrentInjector.Reload> reloads = new ArrayList<>();
        CurrentInjector injector = new CurrentInjector(Fixtures.MESH);
        injector.onReload(reloads::add);
        assertTrue(injector.offer(BUILT_IN, "the built-in template"));
        SidecarInjector good = injector.get().orElseThrow();

        assertFalse(injector.offer(breakIt.apply(BUILT_IN), "file /etc/mesh/template.yaml"));
        String error = injector.lastError().orElseThrow();
        assertTrue(error.contains("file /etc/mesh/template.yaml") && error.contains(expected) && error.contains(detail), error);
        assertEquals(good, injector.get().orElseThrow(), "the last good template stays in use");
        assertEquals(List.of(true, false), reloads.stream().map(CurrentInjector.Reload::applied).toList());
    }

    @Test
    void goodTemplateReplacesTheOneInUseAndClearsTheError() {
        CurrentInjector injector = new CurrentInjector(Fixtures.MESH);
        assertFalse(injector.offer("{#if}", "file a"));
        assertTrue(injector.get().isEmpty(), "nothing is in use until a template passes");
        assertTrue(injector.offer(BUILT_IN, "file b"));
        assertEquals("file b", injector.get().orElseThrow().template().origin());
        assertTrue(injector.lastError().isEmpty());
    }
}
