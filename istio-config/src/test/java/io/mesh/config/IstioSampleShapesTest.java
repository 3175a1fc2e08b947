package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Shapes found in Istio's own samples and task pages that Istio's validation accepts: validation here accepts them
 * too, and says (as a warning) what this mesh does not serve. Each YAML is written for the test, not copied.
 */
class IstioSampleShapesTest {

    static ConfigValidator.Result validate(String yaml) {
        List<RawResource> raws = YamlDocuments.parse(yaml, "test.yaml").resources();
        assertEquals(1, raws.size());
        return ConfigValidator.validate(raws.get(0));
    }

    static String gateway(String servers) {
        return """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: shop}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                """ + servers;
    }

    @Test
    void gatewayProtocolsAreReadIgnoringCaseAsIstioDoes() {
        ConfigValidator.Result r = validate(gateway("""
                  - port: {number: 7443, name: tls-pass, protocol: tls}
                    tls: {mode: PASSTHROUGH}
                    hosts: ["*"]
                  - port: {number: 8443, name: https-web, protocol: Https}
                    tls: {mode: SIMPLE, credentialName: web-cert}
                    hosts: [web.example.com]
                """));
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of(), r.warnings());
        Gateway g = (Gateway) r.model();
        assertEquals("TLS", g.servers().get(0).protocol());
        assertTrue(g.servers().get(0).passthrough());
        assertEquals("HTTPS", g.servers().get(1).protocol());
        assertTrue(g.servers().get(1).terminatesTls());
    }

    @Test
    void gatewayProtocolsIstioAcceptsButThisGatewayDoesNotServeAreLeftOutWithAWarning() {
        ConfigValidator.Result r = validate(gateway("""
                  - port: {number: 27017, name: mongo, protocol: MONGO}
                    hosts: ["*"]
                """));
        assertTrue(r.valid(), r.reason());
        assertTrue(r.warnings().get(0).contains("protocol MONGO is not served"), r.warnings().toString());
        assertTrue(((Gateway) r.model()).servers().get(0).unserved() != null);
    }

    @Test
    void aGatewayProtocolIstioDoesNotKnowIsStillAnError() {
        ConfigValidator.Result r = validate(gateway("""
                  - port: {number: 8080, name: web, protocol: SPDY}
                    hosts: ["*"]
                """));
        assertFalse(r.valid());
        assertTrue(r.reason().contains("spec.servers[0].port.protocol: must be one of HTTP, HTTPS"), r.reason());
    }

    @Test
    void certificateFilesInsteadOfCredentialNameAreAcceptedAndTheServerIsLeftOut() {
        ConfigValidator.Result r = validate(gateway("""
                  - port: {number: 443, name: https, protocol: HTTPS}
                    tls:
                      mode: MUTUAL
                      serverCertificate: /etc/certs/server.pem
                      privateKey: /etc/certs/server-key.pem
                      caCertificates: /etc/certs/clients-ca.pem
                    hosts: [api.example.com]
                """));
        assertTrue(r.valid(), r.reason());
        assertEquals(1, r.warnings().size(), r.warnings().toString());
        assertTrue(r.warnings().get(0).startsWith("spec.servers[0]: TLS mode MUTUAL without credentialName or credentialNames is"
                + " not served (the proxy reads no certificate files"), r.warnings().toString());
        assertTrue(r.warnings().get(0).contains("no listener"), r.warnings().toString());
        assertTrue(((Gateway) r.model()).servers().get(0).unserved() != null);
    }

    @Test
    void simpleTlsWithNeitherCredentialNameNorBothFilesIsRejectedAsIstioDoes() {
        ConfigValidator.Result r = validate(gateway("""
                  - port: {number: 443, name: https, protocol: HTTPS}
                    tls: {mode: SIMPLE, serverCertificate: /etc/certs/server.pem}
                    hosts: [api.example.com]
                """));
        assertFalse(r.valid());
        assertEquals(List.of("spec.servers[0].tls.privateKey: SIMPLE TLS requires a private key (privateKey), or a"
                + " credentialName"), r.errors());
    }

    @Test
    void certificatesOnAPassthroughServerAreSaidToBeUnusedForTheRightReason() {
        ConfigValidator.Result r = validate(gateway("""
                  - port: {number: 443, name: tls, protocol: TLS}
                    tls: {mode: PASSTHROUGH, serverCertificate: /etc/certs/server.pem}
                    hosts: [db.example.com]
                """));
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of("spec.servers[0].tls.serverCertificate: has no effect in mode PASSTHROUGH: TLS is not"
                + " terminated here"), r.warnings());
        assertNull(((Gateway) r.model()).servers().get(0).unserved());
    }
    @Test
    void theDeprecatedConsecutiveErrorsIsReadAsIstioReadsItWithAWarning() {
        ConfigValidator.Result r = validate("""
                apiVersion: networking.istio.io/v1alpha3
                kind: DestinationRule
                metadata: {name: orders, namespace: shop}
                spec:
                  host: orders
                  trafficPolicy:
                    outlierDetection: {consecutiveErrors: 3, interval: 5s}
                """);
        assertTrue(r.valid(), r.reason());
        assertEquals(1, r.warnings().size(), r.warnings().toString());
        assertTrue(r.warnings().get(0).startsWith("spec.trafficPolicy.outlierDetection.consecutiveErrors: is deprecated"),
                r.warnings().toString());
        DestinationRule.OutlierDetection od = ((DestinationRule) r.model()).trafficPolicy().outlierDetection();
        assertEquals(3, od.consecutiveGatewayErrors());
        assertEquals(0, od.consecutive5xxErrors(), "5xx ejection off");
    }
}
