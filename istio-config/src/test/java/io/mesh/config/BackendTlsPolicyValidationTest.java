package io.mesh.config;

import static io.mesh.config.GatewayApiValidationTest.assertRejected;
import static io.mesh.config.GatewayApiValidationTest.validate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Gateway API's BackendTLSPolicy (v1, and v1alpha3) is read and validated as its CRD schema checks it; bad input is
 * rejected naming the field.
 */
class BackendTlsPolicyValidationTest {

    static String policy(String version, String spec) {
        return """
                apiVersion: gateway.networking.k8s.io/%s
                kind: BackendTLSPolicy
                metadata: {name: api-tls, namespace: demo}
                spec:
                %s
                """.formatted(version, spec.indent(2));
    }

    static final String SPEC = """
            targetRefs:
            - {group: "", kind: Service, name: api}
            - {group: "", kind: Service, name: db, sectionName: tls}
            validation:
              caCertificateRefs: [{group: "", kind: ConfigMap, name: api-ca}]
              hostname: api.example.com
              subjectAltNames:
              - {type: Hostname, hostname: "*.example.com"}
              - {type: URI, uri: "spiffe://cluster.local/ns/demo/sa/api"}
            options: {example.com/any: value}
            """;

    @Test
    void policyIsReadAtV1AndV1alpha3() {
        for (String version : List.of("v1", "v1alpha3")) {
            ConfigValidator.Result r = validate(policy(version, SPEC));
            assertTrue(r.valid(), r.reason());
            assertEquals(List.of(), r.warnings());
            KubernetesBackendTlsPolicy p = (KubernetesBackendTlsPolicy) r.model();
            assertEquals(List.of(new KubernetesBackendTlsPolicy.TargetRef("", "Service", "api", null),
                    new KubernetesBackendTlsPolicy.TargetRef("", "Service", "db", "tls")), p.targetRefs());
            assertEquals(List.of(new KubernetesBackendTlsPolicy.CaRef("", "ConfigMap", "api-ca")), p.caCertificateRefs());
            assertFalse(p.systemCertificates());
            assertEquals("api.example.com", p.hostname());
            assertEquals(List.of("*.example.com", "spiffe://cluster.local/ns/demo/sa/api"), p.subjectAltNames());
            assertEquals("BackendTLSPolicy.gateway.networking.k8s.io/demo/api-tls",
                    YamlDocuments.parse(policy(version, SPEC), "p.yaml").resources().get(0).key().toString());
        }
        assertFalse(validate(policy("v1beta1", SPEC)).valid(), "not a version of BackendTLSPolicy");
    }

    @Test
    void systemCertificatesNeedNoReference() {
        ConfigValidator.Result r = validate(policy("v1", """
                targetRefs: [{group: "", kind: Service, name: api}]
                validation: {wellKnownCACertificates: System, hostname: api.example.com}
                """));
        assertTrue(r.valid(), r.reason());
        KubernetesBackendTlsPolicy p = (KubernetesBackendTlsPolicy) r.model();
        assertTrue(p.systemCertificates());
        assertEquals(List.of(), p.caCertificateRefs());
        assertNull(p.targetRefs().get(0).sectionName());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{targetRefs: [], validation: {wellKnownCACertificates: System, hostname: a.example.com}} | spec.targetRefs: at least one entry is required",
        "{targetRefs: [{kind: Service, name: api}], validation: {wellKnownCACertificates: System, hostname: a.example.com}} | spec.targetRefs[0].group: is required",
        "{targetRefs: [{group: \"\", name: api}], validation: {wellKnownCACertificates: System, hostname: a.example.com}} | spec.targetRefs[0].kind: is required",
        "{targetRefs: [{group: \"\", kind: Service, name: api, sectionName: \"\"}], validation: {wellKnownCACertificates: System, hostname: a.example.com}} | spec.targetRefs[0].sectionName: must not be empty",
        "{targetRefs: [{group: \"\", kind: Service, name: api}]} | spec.validation: is required",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {hostname: a.example.com}} | spec.validation: must set caCertificateRefs or wellKnownCACertificates",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: System, caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}], hostname: a.example.com}} | spec.validation: must not set both",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: Mozilla, hostname: a.example.com}} | spec.validation.wellKnownCACertificates: must be System",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: System}} | spec.validation.hostname: is required",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: System, hostname: \"*.example.com\"}} | spec.validation.hostname: must be a host name without a wildcard",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: System, hostname: 10.0.0.1}} | spec.validation.hostname: must be a host name, not an IP address",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {caCertificateRefs: [{group: \"\", name: ca}], hostname: a.example.com}} | spec.validation.caCertificateRefs[0].kind: is required",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: System, hostname: a.example.com, subjectAltNames: [{type: Hostname}]}} | spec.validation.subjectAltNames[0].hostname: is required for type Hostname",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: System, hostname: a.example.com, subjectAltNames: [{type: URI, uri: not-a-uri}]}} | spec.validation.subjectAltNames[0].uri: is required for type URI and must be an absolute URI",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: System, hostname: a.example.com, subjectAltNames: [{type: IPAddress, hostname: a}]}} | spec.validation.subjectAltNames[0].type: must be Hostname or URI",
        "{targetRefs: [{group: \"\", kind: Service, name: api}], validation: {wellKnownCACertificates: System, hostname: a.example.com, sni: x}} | spec.validation.sni: unknown field",
    })
    void invalidPolicyIsRejectedNamingTheField(String spec, String error) {
        assertRejected(policy("v1", spec), error);
    }
}
