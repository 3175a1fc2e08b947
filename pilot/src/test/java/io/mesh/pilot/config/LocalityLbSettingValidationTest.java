package io.mesh.pilot.config;

import static io.mesh.pilot.config.ConfigValidatorTest.validate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.ConfigValidator;
import io.mesh.config.DestinationRule;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A DestinationRule's {@code loadBalancer.localityLbSetting}, parsed in full and validated as istiod's
 * ValidateLocalityLbSetting: weights, overlapping or malformed localities, failover regions; no "has no effect"
 * warning any more, since pilot now serves it.
 */
class LocalityLbSettingValidationTest {

    static String rule(String localityLbSetting, boolean outlier) {
        return """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: d, namespace: demo}
                spec:
                  host: backend
                  trafficPolicy:
                """ + (outlier ? "    outlierDetection: {consecutive5xxErrors: 3}\n" : "") + """
                    loadBalancer:
                      localityLbSetting:
                """ + localityLbSetting.indent(8);
    }

    @Test
    void everyFieldIsParsedAndServedWithoutAWarning() {
        ConfigValidator.Result r = validate(rule("""
                enabled: true
                distribute:
                - from: us-east/a/*
                  to: {us-east/a/*: 80, us-west/*: 20}
                failoverPriority: [tier, topology.kubernetes.io/region]
                """, true));
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of(), r.warnings());
        DestinationRule.LocalityLbSetting s = ((DestinationRule) r.model()).trafficPolicy().loadBalancer()
                .localityLbSetting();
        assertEquals(Boolean.TRUE, s.enabled());
        assertEquals(List.of(new DestinationRule.LocalityLbSetting.Distribute("us-east/a/*",
                Map.of("us-east/a/*", 80, "us-west/*", 20))), s.distribute());
        assertEquals(List.of("tier", "topology.kubernetes.io/region"), s.failoverPriority());

        ConfigValidator.Result f = validate(rule("failover: [{from: us-east, to: eu}]\nenabled: false\n", true));
        assertTrue(f.valid(), f.reason());
        DestinationRule.LocalityLbSetting off = ((DestinationRule) f.model()).trafficPolicy().loadBalancer()
                .localityLbSetting();
        assertTrue(off.disabled());
        assertEquals(List.of(new DestinationRule.LocalityLbSetting.Failover("us-east", "eu")), off.failover());
    }

    @Test
    void failoverWithoutOutlierDetectionIsAcceptedWithIstiosWarning() {
        ConfigValidator.Result r = validate(rule("failover: [{from: us-east, to: eu}]\n", false));
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of("spec.trafficPolicy.loadBalancer.localityLbSetting: outlier detection policy must be"
                + " provided for failover"), r.warnings());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("distribute and failover", """
                        distribute: [{from: a/b, to: {a/b: 100}}]
                        failover: [{from: a, to: b}]
                        """, "can not simultaneously specify 'distribute' and 'failover'"),
                Arguments.of("weights not summing to 100", "distribute: [{from: a/b, to: {a/b: 60, c: 30}}]\n",
                        "total locality weight 90 != 100"),
                Arguments.of("a weight out of range", "distribute: [{from: a/b, to: {a/b: 0, c: 100}}]\n",
                        "locality weight must be in range [1, 100]"),
                Arguments.of("a wildcard not at the end", "distribute: [{from: \"*/b\", to: {a: 100}}]\n",
                        "wildcard '*' number can not exceed 1 and must be in the end"),
                Arguments.of("an empty locality part", "distribute: [{from: a//c, to: {a: 100}}]\n",
                        "must not contain empty region/zone/subzone info"),
                Arguments.of("overlapping destinations", "distribute: [{from: a, to: {us/*: 50, us/z: 50}}]\n",
                        "locality us/z overlap with previous specified ones"),
                Arguments.of("overlapping sources", """
                        distribute:
                        - {from: us, to: {a: 100}}
                        - {from: us/z, to: {a: 100}}
                        """, "locality us/z overlap with previous specified ones"),
                Arguments.of("failover to the same region", "failover: [{from: a, to: a}]\n",
                        "locality lb failover settings must specify different regions"),
                Arguments.of("failover naming a zone", "failover: [{from: a/z, to: b}]\n",
                        "locality lb failover only specify region"),
                Arguments.of("failover with a wildcard", "failover: [{from: a, to: \"b*\"}]\n",
                        "locality lb failover region should not contain '*' wildcard"),
                Arguments.of("failover and a topology label in failoverPriority", """
                        failover: [{from: a, to: b}]
                        failoverPriority: [topology.kubernetes.io/zone]
                        """, "can not simultaneously set 'failover' and topology label 'topology.kubernetes.io/zone'"),
                Arguments.of("an unknown field", "region: a\n", "unknown field \"region\""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void isRejectedAsIstioRejectsIt(String name, String setting, String reason) {
        ConfigValidator.Result r = validate(rule(setting, true));
        assertFalse(r.valid(), name);
        assertTrue(r.reason().contains(reason), r.reason());
    }
}
