package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Telemetry {@code tracing[].customTags}: YAML in, the model out, or Istio's and Envoy's validation errors by field. */
class TelemetryCustomTagTest {

    @Test
    void literalEnvironmentAndHeaderTagsBecomeTheModelSortedByNameWithoutANoEffectWarning() {
        ConfigValidator.Result r = TelemetryMetricsTest.validate("""
                tracing:
                - randomSamplingPercentage: 10
                  customTags:
                    team: {literal: {value: shop}}
                    pod: {environment: {name: POD_NAME, defaultValue: unknown}}
                    node: {environment: {name: NODE_NAME}}
                    user: {header: {name: x-user, defaultValue: anonymous}}
                    agent: {header: {name: user-agent}}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(), r.warnings());
        Map<String, TelemetryCustomTag> tags = ((Telemetry) r.model()).tracing().get(0).customTags();
        assertEquals(Map.of(
                "team", TelemetryCustomTag.literal("shop"),
                "pod", TelemetryCustomTag.environment("POD_NAME", "unknown"),
                "node", TelemetryCustomTag.environment("NODE_NAME", null),
                "user", TelemetryCustomTag.header("x-user", "anonymous"),
                "agent", TelemetryCustomTag.header("user-agent", null)), tags);
        assertEquals(List.of("agent", "node", "pod", "team", "user"), List.copyOf(tags.keySet()));
    }

    @Test
    void aRuleWithoutCustomTagsOrWithAnEmptyMapSetsNone() {
        for (String spec : List.of("tracing: [{randomSamplingPercentage: 1}]", "tracing: [{customTags: {}}]")) {
            ConfigValidator.Result r = TelemetryMetricsTest.validate(spec);
            assertEquals(List.of(), r.errors());
            assertNull(((Telemetry) r.model()).tracing().get(0).customTags(), spec);
        }
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("tracing: [{customTags: {team: {}}}]",
                        "spec.tracing[0].customTags.team: one of literal, environment or header is required"),
                Arguments.of("tracing: [{customTags: {team: {literal: {value: a}, header: {name: x-team}}}}]",
                        "spec.tracing[0].customTags.team: only one of literal, environment or header may be set"),
                Arguments.of("tracing: [{customTags: {team: {literal: {}}}}]",
                        "spec.tracing[0].customTags.team.literal.value: is required"),
                Arguments.of("tracing: [{customTags: {team: {literal: {value: ''}}}}]",
                        "spec.tracing[0].customTags.team.literal.value: must not be empty"),
                Arguments.of("tracing: [{customTags: {pod: {environment: {defaultValue: x}}}}]",
                        "spec.tracing[0].customTags.pod.environment.name: is required"),
                Arguments.of("tracing: [{customTags: {user: {header: {name: ''}}}}]",
                        "spec.tracing[0].customTags.user.header.name: must not be empty"),
                Arguments.of("tracing: [{customTags: {user: {header: {name: \"x\\nuser\"}}}}]",
                        "spec.tracing[0].customTags.user.header.name: is not a valid header name"),
                Arguments.of("tracing: [{customTags: {user: {header: {name: x-user, default: a}}}}]",
                        "spec.tracing[0].customTags.user.header.default: unknown field \"default\""),
                Arguments.of("tracing: [{customTags: {path: {formatter: {value: '%REQ(:PATH)%'}}}}]",
                        "spec.tracing[0].customTags.path.formatter: is not supported here (use literal, environment"
                                + " or header)"),
                Arguments.of("tracing: [{customTags: {team: shop}}]",
                        "spec.tracing[0].customTags.team: must be an object"),
                Arguments.of("tracing: [{customTags: {'': {literal: {value: shop}}}}]",
                        "spec.tracing[0].customTags.: tag name may not be empty"));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void anInvalidCustomTagIsRejectedNamingTheField(String spec, String error) {
        ConfigValidator.Result r = TelemetryMetricsTest.validate(spec);
        assertEquals(List.of(error), r.errors());
        assertNull(r.model());
    }
}
