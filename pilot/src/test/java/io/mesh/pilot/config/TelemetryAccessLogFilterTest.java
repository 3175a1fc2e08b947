package io.mesh.pilot.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.mesh.config.ConfigValidator;
import io.mesh.config.Telemetry;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Telemetry's {@code accessLogging[].filter}: a CEL expression, parsed and checked as the proxies will compile it. */
class TelemetryAccessLogFilterTest {

    @Test
    void aFilterIsKeptAsWrittenOnItsRule() {
        ConfigValidator.Result r = TelemetryValidationTest.validate("""
                accessLogging:
                - providers: [{name: envoy}]
                  filter: {expression: "response.code >= 400 || request.headers['x-debug'] == 'on'"}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(), r.warnings());
        assertEquals(new Telemetry.AccessLogging(Telemetry.Mode.CLIENT_AND_SERVER, List.of("envoy"), null,
                "response.code >= 400 || request.headers['x-debug'] == 'on'"),
                ((Telemetry) r.model()).accessLogging().get(0));
    }

    @Test
    void aFilterWithCelFunctionsAndInIsAccepted() {
        String expression = "!request.url_path.startsWith('/healthz') && request.method in ['POST', 'PUT']"
                + " && (request.path.matches('^/api/v[0-9]+/') || response.code >= 500"
                + " || request.duration > duration('1s')) && !('x-debug' in request.headers)"
                + " && response.headers['x-cache'] != 'HIT'";
        ConfigValidator.Result r = TelemetryValidationTest.validate("""
                accessLogging:
                - providers: [{name: envoy}]
                  filter:
                    expression: "%s"
                """.formatted(expression));
        assertEquals(List.of(), r.errors());
        assertEquals(expression, ((Telemetry) r.model()).accessLogging().get(0).filter());
    }

    @Test
    void aFilterOnARuleWithoutProvidersIsAcceptedWithAWarningThatIstiodIgnoresIt() {
        ConfigValidator.Result r = TelemetryValidationTest.validate(
                "accessLogging: [{filter: {expression: 'response.code >= 400'}}]");
        assertEquals(List.of(), r.errors());
        assertEquals(List.of("spec.accessLogging[0].filter.expression: applies only with providers named in this rule (as"
                + " in istiod, a rule that inherits its providers does not bring its filter)"), r.warnings());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("{expression: 'response.code >= '}",
                        "spec.accessLogging[0].filter.expression: unexpected end at position 17 of \"response.code >= \""),
                Arguments.of("{expression: 'response.cod == 200'}",
                        "spec.accessLogging[0].filter.expression: unknown attribute \"response.cod\" (served:"
                                + " [response.code, response.code_details, response.flags, response.grpc_status,"
                                + " response.headers, response.size, response.trailers]) at position 9 of"
                                + " \"response.cod == 200\""),
                Arguments.of("{expression: \"request.path.beginsWith('/api')\"}",
                        "spec.accessLogging[0].filter.expression: unknown function \"beginsWith\" (served: [contains,"
                                + " duration, endsWith, int, matches, size, startsWith, string, timestamp, uint], and"
                                + " has()) at position 13 of \"request.path.beginsWith('/api')\""),
                Arguments.of("{expression: \"request.path.matches('[a-')\"}",
                        "spec.accessLogging[0].filter.expression: invalid regex for matches(): missing closing ] in"
                                + " \"[a-\" at position 21 of \"request.path.matches('[a-')\""),
                Arguments.of("{expression: \"size(response.code) > 0\"}",
                        "spec.accessLogging[0].filter.expression: no matching overload for size() on int (takes [list,"
                                + " map, string]) at position 5 of \"size(response.code) > 0\""),
                Arguments.of("{expression: \"string(response.code)\"}",
                        "spec.accessLogging[0].filter.expression: must be a boolean expression (e.g. response.code >="
                                + " 400), got \"string(response.code)\""),
                Arguments.of("{expression: 'request.path + \"x\"'}",
                        "spec.accessLogging[0].filter.expression: must be a boolean expression (e.g. response.code >="
                                + " 400), got \"request.path + \"x\"\""),
                Arguments.of("{expression: 'response.code'}",
                        "spec.accessLogging[0].filter.expression: must be a boolean expression (e.g. response.code >="
                                + " 400), got \"response.code\""),
                Arguments.of("{}", "spec.accessLogging[0].filter.expression: a filter needs an expression"),
                Arguments.of("{expr: 'true'}", "spec.accessLogging[0].filter.expr: unknown field \"expr\""));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void aFilterThatDoesNotCompileIsAnErrorNamingWhere(String filter, String error) {
        ConfigValidator.Result r = TelemetryValidationTest.validate(
                "accessLogging: [{providers: [{name: envoy}], filter: " + filter + "}]");
        assertEquals(error, r.errors().get(0), r.errors().toString());
        assertNull(r.model());
    }
}
