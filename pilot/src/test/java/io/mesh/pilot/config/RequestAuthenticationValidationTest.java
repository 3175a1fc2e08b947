package io.mesh.pilot.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.RequestAuthentication;
import io.mesh.config.YamlDocuments;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** RequestAuthentication's validation, as Istio's: YAML in, the model or each error with its field path out. */
class RequestAuthenticationValidationTest {
    static final String JWKS = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k1\",\"n\":\"sXch\"}]}";

    static ConfigValidator.Result validate(String spec) {
        RawResource raw = YamlDocuments.parse("""
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: jwt, namespace: demo}
                spec:
                """ + spec.indent(2), "t.yaml").resources().get(0);
        return ConfigValidator.validate(raw);
    }

    @Test
    void aFullRequestAuthenticationBecomesItsModel() {
        ConfigValidator.Result r = validate("""
                selector: {matchLabels: {app: web}}
                jwtRules:
                - issuer: https://issuer.example
                  audiences: [web, api]
                  jwksUri: https://issuer.example/jwks.json
                  fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
                  fromParams: [token]
                  fromCookies: [session]
                  forwardOriginalToken: true
                  outputPayloadToHeader: x-jwt-payload
                  outputClaimToHeaders: [{header: x-sub, claim: sub}]
                  timeout: 3s
                - issuer: other
                  jwks: '%s'
                """.formatted(JWKS));
        assertEquals(List.of(), r.errors());
        RequestAuthentication ra = (RequestAuthentication) r.model();
        assertEquals(Map.of("app", "web"), ra.selector());
        assertEquals(new RequestAuthentication.JwtRule("https://issuer.example", List.of("web", "api"),
                "https://issuer.example/jwks.json", null, List.of(new RequestAuthentication.HeaderLocation("x-jwt", "Bearer ")),
                List.of("token"), List.of("session"), true, "x-jwt-payload",
                List.of(new RequestAuthentication.ClaimToHeader("x-sub", "sub")), Duration.ofSeconds(3)),
                ra.jwtRules().get(0));
        assertEquals(JWKS, ra.jwtRules().get(1).jwks());
        assertEquals(List.of(), ra.jwtRules().get(1).fromHeaders(), "none given: Envoy's defaults apply");
    }

    @Test
    void aRuleWithAnHttpsIssuerAndNoKeysIsValidItsKeysFoundThroughOpenIdDiscovery() {
        ConfigValidator.Result r = validate("jwtRules: [{issuer: 'https://accounts.example/'}]");
        assertEquals(List.of(), r.errors());
        io.mesh.config.RequestAuthentication ra = (io.mesh.config.RequestAuthentication) r.model();
        assertEquals("https://accounts.example/.well-known/openid-configuration", ra.jwtRules().get(0).keysUri());
    }

    @Test
    void aPolicyWithoutRulesOrSelectorIsValid() {
        assertEquals(List.of(), validate("{}").errors());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("jwtRules: [{jwksUri: 'https://a/jwks'}]", "spec.jwtRules[0].issuer: is required"),
                Arguments.of("jwtRules: [{issuer: '', jwksUri: 'https://a/jwks'}]",
                        "spec.jwtRules[0].issuer: must not be empty"),
                Arguments.of("jwtRules: [{issuer: a, jwksUri: 'ftp://a/jwks'}]",
                        "spec.jwtRules[0].jwksUri: \"ftp://a/jwks\" is not an http or https URL with a host"),
                Arguments.of("jwtRules: [{issuer: a, jwksUri: '/jwks.json'}]",
                        "spec.jwtRules[0].jwksUri: \"/jwks.json\" is not an http or https URL with a host"),
                Arguments.of("jwtRules: [{issuer: a, jwks: 'not json'}]",
                        "spec.jwtRules[0].jwks: is not a JSON Web Key Set: not JSON"),
                Arguments.of("jwtRules: [{issuer: a, jwks: '{\"kty\": \"RSA\"}'}]",
                        "spec.jwtRules[0].jwks: is not a JSON Web Key Set: must be an object with a \"keys\" list"),
                Arguments.of("jwtRules: [{issuer: a}]", "spec.jwtRules[0]: jwks or jwksUri must be set when the issuer"
                        + " \"a\" is not an http or https URL (the keys are otherwise discovered from the issuer's OpenID"
                        + " configuration)"),
                Arguments.of("jwtRules: [{issuer: a, jwksUri: 'https://a/j', audiences: ['']}]",
                        "spec.jwtRules[0].audiences[0]: must not be empty"),
                Arguments.of("jwtRules: [{issuer: a, jwksUri: 'https://a/j', fromHeaders: [{prefix: x}]}]",
                        "spec.jwtRules[0].fromHeaders[0].name: is required"),
                Arguments.of("jwtRules: [{issuer: a, jwksUri: 'https://a/j', fromParams: ['']}]",
                        "spec.jwtRules[0].fromParams[0]: must not be empty"),
                Arguments.of("jwtRules: [{issuer: a, jwksUri: 'https://a/j', outputClaimToHeaders: [{header: x}]}]",
                        "spec.jwtRules[0].outputClaimToHeaders[0].claim: is required"),
                Arguments.of("jwtRules: [{issuer: a, jwksUri: 'https://a/j', timeout: soon}]",
                        "spec.jwtRules[0].timeout: invalid duration \"soon\" (use e.g. 500ms, 10s, 1m)"),
                Arguments.of("jwtRules: [{issuer: a, jwksUri: 'https://a/j', jwksURI: x}]",
                        "spec.jwtRules[0].jwksURI: unknown field \"jwksURI\""),
                Arguments.of("jwtRule: []", "spec.jwtRule: unknown field \"jwtRule\""),
                Arguments.of("selector: {labels: {app: web}}", "spec.selector.labels: unknown field \"labels\""));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void anInvalidRequestAuthenticationIsRejectedNamingTheField(String spec, String error) {
        ConfigValidator.Result r = validate(spec);
        assertEquals(1, r.errors().size(), r.errors().toString());
        assertTrue(r.errors().get(0).startsWith(error), r.errors().get(0));
        assertEquals(null, r.model());
    }

    @Test
    void bothJwksAndJwksUriAreAcceptedAndTheInlineOneIsUsed() {
        ConfigValidator.Result r = validate("jwtRules: [{issuer: a, jwksUri: 'http://127.0.0.1:1/j', jwks: '" + JWKS + "'}]");
        assertEquals(List.of(), r.errors());
    }
}
