package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Telemetry {@code metrics[]}: YAML in, the model out, or Istio's validation errors with their field paths. */
class TelemetryMetricsTest {

    static ConfigValidator.Result validate(String spec) {
        RawResource raw = YamlDocuments.parse("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: tel, namespace: demo}
                spec:
                """ + spec.indent(2), "t.yaml").resources().get(0);
        return ConfigValidator.validate(raw);
    }

    @Test
    void overridesBecomeTheModelInOrderWithoutTheOldNoEffectWarning() {
        ConfigValidator.Result r = validate("""
                metrics:
                - providers: [{name: prometheus}]
                  overrides:
                  - match: {metric: REQUEST_COUNT, mode: CLIENT}
                    tagOverrides:
                      request_protocol: {operation: REMOVE}
                      team: {value: "request.headers['x-team']"}
                  - match: {metric: REQUEST_DURATION}
                    disabled: true
                  - disabled: false
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(), r.warnings());
        Telemetry t = (Telemetry) r.model();
        TelemetryMetrics m = t.metrics().get(0);
        assertEquals(List.of("prometheus"), m.providers());
        assertNull(m.reportingInterval());
        assertEquals(List.of(
                new TelemetryMetrics.Override("REQUEST_COUNT", false, Telemetry.Mode.CLIENT, null, Map.of(
                        "request_protocol", new TelemetryMetrics.TagOverride(true, null),
                        "team", new TelemetryMetrics.TagOverride(false, "request.headers['x-team']"))),
                new TelemetryMetrics.Override("REQUEST_DURATION", false, Telemetry.Mode.CLIENT_AND_SERVER, true, Map.of()),
                new TelemetryMetrics.Override("ALL_METRICS", false, Telemetry.Mode.CLIENT_AND_SERVER, false, Map.of())),
                m.overrides());
        assertEquals(List.of("request_protocol", "team"), List.copyOf(m.overrides().get(0).tagOverrides().keySet()));
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("metrics: [{overrides: [{tagOverrides: {team: {operation: UPSERT}}}]}]",
                        "spec.metrics[0].overrides[0].tagOverrides.team.value: must be set when operation is UPSERT"),
                Arguments.of("metrics: [{overrides: [{tagOverrides: {team: {operation: REMOVE, value: \"'x'\"}}}]}]",
                        "spec.metrics[0].overrides[0].tagOverrides.team.value: may only be set when operation is UPSERT"),
                Arguments.of("metrics: [{overrides: [{tagOverrides: {team: {operation: DELETE}}}]}]",
                        "spec.metrics[0].overrides[0].tagOverrides.team.operation: unknown operation \"DELETE\" (use"
                                + " UPSERT or REMOVE)"),
                Arguments.of("metrics: [{overrides: [{match: {customMetric: ''}}]}]",
                        "spec.metrics[0].overrides[0].match.customMetric: customMetric may not be empty"),
                Arguments.of("metrics: [{overrides: [{match: {metric: REQUEST_COUNTS}}]}]",
                        "spec.metrics[0].overrides[0].match.metric: unknown metric \"REQUEST_COUNTS\" (use one of "
                                + TelemetryMetrics.ISTIO_METRICS + ")"),
                Arguments.of("metrics: [{overrides: [{match: {mode: BOTH}}]}]",
                        "spec.metrics[0].overrides[0].match.mode: unknown mode \"BOTH\" (use CLIENT_AND_SERVER, CLIENT or"
                                + " SERVER)"),
                Arguments.of("metrics: [{providers: [{name: stackdriver}]}]",
                        "spec.metrics[0].providers[0].name: unknown provider \"stackdriver\": metrics here have the"
                                + " provider(s) [\"prometheus\"]"),
                Arguments.of("metrics: [{overrides: [{tagOverrides: {team: {value: \"request.headers['x-team'\"}}}]}]",
                        "spec.metrics[0].overrides[0].tagOverrides.team.value: is not a valid expression: expected ']'"
                                + " at position 24 of \"request.headers['x-team'\""),
                Arguments.of("metrics: [{overrides: [{tagOverrides: {team: {value: \"request.team\"}}}]}]",
                        "spec.metrics[0].overrides[0].tagOverrides.team.value: is not a valid expression: unknown"
                                + " attribute \"request.team\" (served: [request.duration, request.headers, request.host,"
                                + " request.id, request.method, request.path, request.protocol, request.query,"
                                + " request.referer, request.scheme, request.size, request.time, request.url_path,"
                                + " request.useragent]) at position 8 of \"request.team\""),
                Arguments.of("metrics: [{reportingInterval: soon}]",
                        "spec.metrics[0].reportingInterval: invalid duration \"soon\" (use e.g. 500ms, 10s, 1m)"),
                Arguments.of("metrics: [{overrides: [{disabled: true, drop: true}]}]",
                        "spec.metrics[0].overrides[0].drop: unknown field \"drop\""));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void anInvalidMetricsRuleIsRejectedNamingTheField(String spec, String error) {
        ConfigValidator.Result r = validate(spec);
        assertEquals(List.of(error), r.errors());
        assertNull(r.model());
    }

    @Test
    void whatStaysInertIsAcceptedWithAWarning() {
        ConfigValidator.Result r = validate("""
                metrics:
                - reportingInterval: 30s
                  overrides: [{match: {customMetric: my_metric}, disabled: true}]
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(
                "spec.metrics[0].reportingInterval: has no effect here: TCP byte counts are recorded as they move",
                "spec.metrics[0].overrides[0].match.customMetric: has no effect here: the proxies record Istio's"
                        + " standard metrics only"), r.warnings());
        assertEquals(Duration.ofSeconds(30), ((Telemetry) r.model()).metrics().get(0).reportingInterval());
    }
}
