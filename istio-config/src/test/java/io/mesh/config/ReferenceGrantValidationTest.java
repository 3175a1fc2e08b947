package io.mesh.config;

import static io.mesh.config.GatewayApiValidationTest.assertRejected;
import static io.mesh.config.GatewayApiValidationTest.validate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Gateway API's ReferenceGrant (v1beta1, and v1) is read and validated as its CRD schema checks it, and a
 * listener's namespace selector with matchLabels and matchExpressions as Kubernetes' label selectors are; bad input is
 * rejected naming the field.
 */
class ReferenceGrantValidationTest {

    static String grant(String version, String spec) {
        return """
                apiVersion: gateway.networking.k8s.io/%s
                kind: ReferenceGrant
                metadata: {name: allow-demo, namespace: backends}
                spec:
                %s
                """.formatted(version, spec.indent(2));
    }

    static final String SPEC = """
            from:
            - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}
            - {group: gateway.networking.k8s.io, kind: Gateway, namespace: istio-system}
            to:
            - {group: "", kind: Service, name: api}
            - {group: "", kind: Secret}
            """;

    @Test
    void referenceGrantIsReadAtV1beta1AndV1() {
        for (String version : List.of("v1beta1", "v1")) {
            ConfigValidator.Result r = validate(grant(version, SPEC));
            assertTrue(r.valid(), r.reason());
            assertEquals(List.of(), r.warnings());
            KubernetesReferenceGrant g = (KubernetesReferenceGrant) r.model();
            assertEquals("backends", g.namespace());
            assertEquals(List.of(new KubernetesReferenceGrant.From(Kind.GATEWAY_API, "HTTPRoute", "demo"),
                    new KubernetesReferenceGrant.From(Kind.GATEWAY_API, "Gateway", "istio-system")), g.from());
            assertEquals(List.of(new KubernetesReferenceGrant.To("", "Service", "api"),
                    new KubernetesReferenceGrant.To("", "Secret", null)), g.to());
            assertEquals("ReferenceGrant.gateway.networking.k8s.io/backends/allow-demo",
                    YamlDocuments.parse(grant(version, SPEC), "g.yaml").resources().get(0).key().toString());
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{from: [], to: [{group: \"\", kind: Service}]} | spec.from: at least one entry is required",
        "{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}], to: []} | spec.to: at least one entry is required",
        "{from: [{kind: HTTPRoute, namespace: demo}], to: [{group: \"\", kind: Service}]} | spec.from[0].group: is required",
        "{from: [{group: gateway.networking.k8s.io, namespace: demo}], to: [{group: \"\", kind: Service}]} | spec.from[0].kind: is required",
        "{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute}], to: [{group: \"\", kind: Service}]} | spec.from[0].namespace: is required",
        "{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}], to: [{kind: Service}]} | spec.to[0].group: is required",
        "{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}], to: [{group: \"\", kind: Service, name: \"\"}]} | spec.to[0].name: must not be empty",
        "{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo, port: 1}], to: [{group: \"\", kind: Service}]} | spec.from[0].port: unknown field",
    })
    void invalidGrantIsRejectedNamingTheField(String spec, String error) {
        assertRejected(grant("v1beta1", spec), error);
    }

    @Test
    void grantOfKindsThisMeshDoesNotReadIsKeptWithAWarning() {
        ConfigValidator.Result r = validate(grant("v1beta1", """
                from: [{group: example.com, kind: Ingress, namespace: demo}]
                to: [{group: example.com, kind: Bucket}]
                """));
        assertTrue(r.valid(), r.reason());
        assertTrue(r.warnings().stream().anyMatch(w -> w.contains("spec.from[0]") && w.contains("not read")),
                r.warnings().toString());
        assertTrue(r.warnings().stream().anyMatch(w -> w.contains("spec.to[0]") && w.contains("not read")),
                r.warnings().toString());
    }

    static String selectorGateway(String selector) {
        return """
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  listeners:
                  - name: http
                    port: 80
                    protocol: HTTP
                    allowedRoutes:
                      namespaces:
                        from: Selector
                        selector: %s
                """.formatted(selector);
    }

    @Test
    void namespaceSelectorReadsMatchLabelsAndMatchExpressions() {
        ConfigValidator.Result r = validate(selectorGateway("""
                {matchLabels: {team: shop}, matchExpressions: [{key: env, operator: In, values: [prod, staging]},\
                 {key: legacy, operator: DoesNotExist}]}"""));
        assertTrue(r.valid(), r.reason());
        LabelSelector s = ((KubernetesGateway) r.model()).listeners().get(0).namespaceSelector();
        assertEquals(Map.of("team", "shop"), s.matchLabels());
        assertEquals(List.of(new LabelSelector.Requirement("env", "In", List.of("prod", "staging")),
                new LabelSelector.Requirement("legacy", "DoesNotExist", List.of())), s.matchExpressions());
        assertTrue(s.matches(Map.of("team", "shop", "env", "prod")));
        assertFalse(s.matches(Map.of("team", "shop", "env", "dev")), "In: another value");
        assertFalse(s.matches(Map.of("team", "shop")), "In: no such label");
        assertFalse(s.matches(Map.of("team", "shop", "env", "prod", "legacy", "true")), "DoesNotExist");
        assertFalse(s.matches(Map.of("team", "web", "env", "prod")), "matchLabels");
    }

    @Test
    void notInAndExistsFollowKubernetesSemantics() {
        LabelSelector notIn = new LabelSelector(Map.of(), List.of(new LabelSelector.Requirement("env", "NotIn",
                List.of("dev"))));
        assertTrue(notIn.matches(Map.of()), "NotIn holds without the label");
        assertTrue(notIn.matches(Map.of("env", "prod")));
        assertFalse(notIn.matches(Map.of("env", "dev")));
        LabelSelector exists = new LabelSelector(Map.of(), List.of(new LabelSelector.Requirement("env", "Exists",
                List.of())));
        assertTrue(exists.matches(Map.of("env", "")));
        assertFalse(exists.matches(Map.of("team", "x")));
        assertTrue(new LabelSelector(Map.of(), List.of()).matches(Map.of()), "an empty selector selects everything");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{matchExpressions: [{key: env, operator: Equals, values: [a]}]} | selector.matchExpressions[0].operator: must be In, NotIn, Exists or DoesNotExist",
        "{matchExpressions: [{key: env, operator: In}]}                  | selector.matchExpressions[0].values: must not be empty for operator In",
        "{matchExpressions: [{key: env, operator: Exists, values: [a]}]} | selector.matchExpressions[0].values: must be empty for operator Exists",
        "{matchExpressions: [{operator: Exists}]}                         | selector.matchExpressions[0].key: is required",
        "{matchLabels: {team: [a]}}                                       | selector.matchLabels.team: must be a string",
        "{matchFields: {a: b}}                                            | selector.matchFields: unknown field",
    })
    void invalidNamespaceSelectorIsRejectedNamingTheField(String selector, String error) {
        assertRejected(selectorGateway(selector), "spec.listeners[0].allowedRoutes.namespaces." + error);
    }
}
