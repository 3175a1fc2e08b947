package io.mesh.pilot.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.Telemetry;
import io.mesh.config.YamlDocuments;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Telemetry's validation, as Istio's: YAML in, the model, each error with its field path, or a warning out. */
class TelemetryValidationTest {

    static ConfigValidator.Result validate(String apiVersion, String spec) {
        RawResource raw = YamlDocuments.parse("""
                apiVersion: %s
                kind: Telemetry
                metadata: {name: tel, namespace: demo, creationTimestamp: "2026-01-02T03:04:05Z"}
                spec:
                """.formatted(apiVersion) + spec.indent(2), "t.yaml").resources().get(0);
        return ConfigValidator.validate(raw);
    }

    static ConfigValidator.Result validate(String spec) {
        return validate("telemetry.istio.io/v1", spec);
    }

    @Test
    void aTelemetryWithAccessLoggingAndTracingBecomesItsModel() {
        ConfigValidator.Result r = validate("""
                selector: {matchLabels: {app: web}}
                accessLogging:
                - providers: [{name: envoy}]
                  disabled: true
                  match: {mode: SERVER}
                tracing:
                - providers: [{name: otel}]
                  randomSamplingPercentage: 12.5
                  disableSpanReporting: false
                  match: {mode: CLIENT}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(), r.warnings());
        Telemetry t = (Telemetry) r.model();
        assertEquals(Map.of("app", "web"), t.selector());
        assertEquals(java.time.Instant.parse("2026-01-02T03:04:05Z"), t.created());
        assertEquals(List.of(new Telemetry.AccessLogging(Telemetry.Mode.SERVER, List.of("envoy"), true)),
                t.accessLogging());
        assertEquals(List.of(new Telemetry.Tracing(Telemetry.Mode.CLIENT, "otel", 12.5, false)), t.tracing());
    }

    @Test
    void unsetFieldsStayUnsetSoTheParentsApply() {
        ConfigValidator.Result r = validate("accessLogging: [{}]\ntracing: [{}]");
        assertEquals(List.of(), r.errors());
        Telemetry t = (Telemetry) r.model();
        assertEquals(new Telemetry.AccessLogging(Telemetry.Mode.CLIENT_AND_SERVER, List.of(), null), t.accessLogging().get(0));
        assertEquals(new Telemetry.Tracing(Telemetry.Mode.CLIENT_AND_SERVER, null, null, null), t.tracing().get(0));
    }

    @Test
    void v1alpha1IsAcceptedAsIstioStillServesIt() {
        assertEquals(List.of(), validate("telemetry.istio.io/v1alpha1", "tracing: [{randomSamplingPercentage: 100}]").errors());
        assertEquals(List.of("apiVersion: \"telemetry.istio.io/v1beta1\" is not a version of Telemetry (use"
                + " telemetry.istio.io/v1)"), validate("telemetry.istio.io/v1beta1", "{}").errors());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("tracing: [{randomSamplingPercentage: 100.5}]",
                        "spec.tracing[0].randomSamplingPercentage: must be in range [0.0, 100.0], got 100.5"),
                Arguments.of("tracing: [{randomSamplingPercentage: -1}]",
                        "spec.tracing[0].randomSamplingPercentage: must be in range [0.0, 100.0], got -1.0"),
                Arguments.of("tracing: [{randomSamplingPercentage: lots}]",
                        "spec.tracing[0].randomSamplingPercentage: must be a number"),
                Arguments.of("tracing: [{providers: [{name: zipkin}]}]",
                        "spec.tracing[0].providers[0].name: unknown provider \"zipkin\": tracing here has the provider(s)"
                                + " [\"opentelemetry\", \"otel\"]"),
                Arguments.of("accessLogging: [{providers: [{}]}]",
                        "spec.accessLogging[0].providers[0].name: providers must have a name"),
                Arguments.of("accessLogging: [{disabled: yes-please}]",
                        "spec.accessLogging[0].disabled: must be true or false"),
                Arguments.of("accessLogging: [{match: {mode: BOTH}}]",
                        "spec.accessLogging[0].match.mode: unknown mode \"BOTH\" (use CLIENT_AND_SERVER, CLIENT or SERVER)"),
                Arguments.of("tracing: [{sampling: 5}]", "spec.tracing[0].sampling: unknown field \"sampling\""),
                Arguments.of("accesslogging: []", "spec.accesslogging: unknown field \"accesslogging\""),
                Arguments.of("selector: {labels: {app: web}}", "spec.selector.labels: unknown field \"labels\""));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void anInvalidTelemetryIsRejectedNamingTheField(String spec, String error) {
        ConfigValidator.Result r = validate(spec);
        assertEquals(1, r.errors().size(), r.errors().toString());
        assertEquals(error, r.errors().get(0));
        assertNull(r.model());
    }

    static Stream<Arguments> inert() {
        return Stream.of(
                Arguments.of("metrics: [{providers: [{name: prometheus}], reportingInterval: 10s}]",
                        "spec.metrics[0].reportingInterval: has no effect here: TCP byte counts are recorded as they move"),
                Arguments.of("tracing: [{useRequestIdForTraceSampling: false}]",
                        "spec.tracing[0].useRequestIdForTraceSampling: has no effect here: only randomSamplingPercentage,"
                                + " disableSpanReporting and customTags are served"),
                Arguments.of("tracing: [{randomSamplingPercentage: 1}, {disableSpanReporting: true}]",
                        "spec.tracing: multiple tracing is not currently supported (as in Istio): each rule overrides the"
                                + " previous one's fields"),
                Arguments.of("tracing: [{providers: [{name: otel}, {name: opentelemetry}]}]",
                        "spec.tracing[0].providers: multiple providers is not currently supported (as in Istio): the first"
                                + " is used"));
    }

    @ParameterizedTest
    @MethodSource("inert")
    void whatIsNotServedIsAcceptedWithAWarningThatItHasNoEffect(String spec, String warning) {
        ConfigValidator.Result r = validate(spec);
        assertEquals(List.of(), r.errors());
        assertTrue(r.valid());
        assertEquals(List.of(warning), r.warnings());
    }
}
