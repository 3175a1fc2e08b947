package io.mesh.pilot.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.ConfigValidator;
import io.mesh.config.VirtualService;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VirtualService header matches named {@code @request.auth.claims.NAME} (Istio's JWT claim based routing) are validated
 * as istiod does: accepted in headers and withoutHeaders of a VirtualService bound to a gateway, rejected for the mesh
 * alone; any other {@code @} name is rejected.
 */
class ClaimRouteValidationTest {

    static String vs(String gateways, String match) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: r, namespace: demo}
                spec:
                  hosts: [shop.example.com]
                  %s
                  http:
                  - match:
                    - %s
                    route:
                    - destination: {host: web}
                """.formatted(gateways, match);
    }

    static Stream<Arguments> cases() {
        String gw = "gateways: [istio-system/public]";
        return Stream.of(
                Arguments.of("claimOnAGateway", vs(gw, "headers: {\"@request.auth.claims.groups\": {exact: group1}}"), null),
                Arguments.of("nestedAndBrackets", vs(gw, "headers: {\"@request.auth.claims.a.b\": {prefix: x},"
                        + " \"@request.auth.claims[c][d]\": {regex: \"y.*\"}}"), null),
                Arguments.of("withoutHeadersClaim", vs(gw, "withoutHeaders: {\"@request.auth.claims.groups\": {exact: x}}"),
                        null),
                Arguments.of("meshAndGateway", vs("gateways: [mesh, istio-system/public]",
                        "headers: {\"@request.auth.claims.groups\": {exact: group1}}"), null),
                Arguments.of("noGateways", vs("", "headers: {\"@request.auth.claims.groups\": {exact: group1}}"),
                        "spec.http[0].match[0].headers.@request.auth.claims.groups: JWT claim based routing is only "
                                + "supported for gateways, found no gateways: []"),
                Arguments.of("meshOnly", vs("gateways: [mesh]", "withoutHeaders: {\"@request.auth.claims.g\": {exact: x}}"),
                        "JWT claim based routing is only supported for gateways, found no gateways: [mesh]"),
                Arguments.of("noClaim", vs(gw, "headers: {\"@request.auth.claims\": {exact: x}}"),
                        "\"@request.auth.claims\" names no claim"),
                Arguments.of("emptySegment", vs(gw, "headers: {\"@request.auth.claims.a..b\": {exact: x}}"),
                        "names no claim"),
                Arguments.of("otherAtName", vs(gw, "headers: {\"@request.auth.principal\": {exact: x}}"),
                        "\"@request.auth.principal\" is not a valid header name: the only @ names are JWT claims"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void claimNamesAreValidatedAsIstiodDoes(String name, String yaml, String error) {
        ConfigValidator.Result r = ConfigValidatorTest.validate(yaml);
        if (error == null) {
            assertTrue(r.valid(), r.reason());
        } else {
            assertFalse(r.valid());
            assertTrue(r.reason().contains(error), r.reason());
        }
    }

    @Test
    void claimNamesKeepTheirCaseWhileHeaderNamesAreLowerCased() {
        ConfigValidator.Result r = ConfigValidatorTest.validate(vs("gateways: [istio-system/public]",
                "headers: {\"@Request.Auth.Claims.Groups\": {exact: g}, X-Canary: {exact: \"yes\"}}"));
        assertTrue(r.valid(), r.reason());
        Map<String, ?> headers = ((VirtualService) r.model()).http().get(0).match().get(0).headers();
        assertEquals(java.util.Set.of("@request.auth.claims.Groups", "x-canary"), headers.keySet());
    }
}
