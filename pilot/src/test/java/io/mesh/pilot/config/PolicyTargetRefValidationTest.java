package io.mesh.pilot.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.mesh.config.ConfigValidator;
import io.mesh.config.PolicyConfig;
import io.mesh.config.PolicyTargetRef;
import io.mesh.config.RawResource;
import io.mesh.config.RequestAuthentication;
import io.mesh.config.Telemetry;
import io.mesh.config.YamlDocuments;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code targetRef} and {@code targetRefs} of AuthorizationPolicy, RequestAuthentication and Telemetry, validated as
 * Istio's validatePolicyTargetReference and validateOneOfSelectorType: YAML in, the references or each error with its
 * field path out, the same for the three kinds.
 */
class PolicyTargetRefValidationTest {

    private static final List<String> KINDS = List.of("security.istio.io/v1 AuthorizationPolicy",
            "security.istio.io/v1 RequestAuthentication", "telemetry.istio.io/v1 Telemetry");

    static Stream<String> kinds() {
        return KINDS.stream();
    }

    static ConfigValidator.Result validate(String apiVersionAndKind, String spec) {
        String[] parts = apiVersionAndKind.split(" ");
        RawResource raw = YamlDocuments.parse("""
                apiVersion: %s
                kind: %s
                metadata: {name: edge-policy, namespace: edge}
                spec:
                """.formatted(parts[0], parts[1]) + spec.indent(2), "t.yaml").resources().get(0);
        return ConfigValidator.validate(raw);
    }

    private static List<PolicyTargetRef> targetRefs(Object model) {
        if (model instanceof PolicyConfig.AuthorizationPolicy ap) {
            return ap.targetRefs();
        }
        if (model instanceof RequestAuthentication ra) {
            return ra.targetRefs();
        }
        return ((Telemetry) model).targetRefs();
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void aKubernetesGatewayReferenceIsKeptInTheModel(String kind) {
        ConfigValidator.Result r = validate(kind, """
                targetRefs:
                - {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
                - {group: gateway.networking.k8s.io, kind: Gateway, name: internal}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(), r.warnings());
        assertEquals(List.of(new PolicyTargetRef("gateway.networking.k8s.io", "Gateway", "edge"),
                new PolicyTargetRef("gateway.networking.k8s.io", "Gateway", "internal")), targetRefs(r.model()));
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void theDeprecatedSingleTargetRefIsTheSameReference(String kind) {
        ConfigValidator.Result r = validate(kind, "targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}");
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(new PolicyTargetRef("gateway.networking.k8s.io", "Gateway", "edge")), targetRefs(r.model()));
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void referencesThatOnlyWaypointsTakeAreValidWithAWarningThatNoProxyHere(String kind) {
        ConfigValidator.Result r = validate(kind, """
                targetRefs:
                - {kind: Service, name: reviews}
                - {group: networking.istio.io, kind: ServiceEntry, name: api}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of("spec.targetRefs: names only Services, ServiceEntries or GatewayClasses, which attach a"
                + " policy to waypoint proxies (ambient); this mesh has none, so the policy applies to no proxy"),
                r.warnings());
        assertEquals(2, targetRefs(r.model()).size());
    }

    static Stream<Arguments> invalid() {
        String allowed = "targetRef must be to one of [Service (group \"\"), ServiceEntry (networking.istio.io), Gateway"
                + " (gateway.networking.k8s.io), GatewayClass (gateway.networking.k8s.io)] but was ";
        List<Arguments> cases = List.of(
                Arguments.of("selector: {matchLabels: {app: web}}\n"
                        + "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]",
                        "spec: only one of targetRefs or workloadSelector can be set"),
                Arguments.of("targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: a}\n"
                        + "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: b}]",
                        "spec: only one of targetRefs or workloadSelector can be set"),
                // Without its group a Gateway is a core kind, which does not exist.
                Arguments.of("targetRefs: [{kind: Gateway, name: edge}]", "spec.targetRefs[0].kind: " + allowed + "/Gateway"),
                Arguments.of("targetRef: {group: networking.istio.io, kind: Gateway, name: edge}",
                        "spec.targetRef.kind: " + allowed + "networking.istio.io/Gateway"),
                Arguments.of("targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway}]",
                        "spec.targetRefs[0].name: targetRef name must be set"),
                Arguments.of("targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge, namespace: other}]",
                        "spec.targetRefs[0].namespace: targetRef namespace must not be set; cross namespace referencing"
                                + " is not supported"),
                Arguments.of("targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge, port: 80}]",
                        "spec.targetRefs[0].port: unknown field \"port\""));
        return KINDS.stream().flatMap(kind -> cases.stream().map(c -> Arguments.of(kind, c.get()[0], c.get()[1])));
    }

    @ParameterizedTest
    @MethodSource("invalid")
    void anInvalidReferenceIsRejectedNamingTheField(String kind, String spec, String error) {
        ConfigValidator.Result r = validate(kind, spec);
        assertEquals(List.of(error), r.errors());
        assertNull(r.model());
    }
}
