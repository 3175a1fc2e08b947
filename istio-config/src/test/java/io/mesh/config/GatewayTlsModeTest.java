package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A Gateway server's TLS mode as istiod reads it: istio/api's {@code ServerTLSSettings.TLSmode} has PASSTHROUGH as its
 * zero value, so a tls block without mode passes TLS through on HTTPS and TLS servers, and certificates on it are
 * ignored with a warning (istio {@code validateTLSOptions}). An HTTP server's tls may only ask for httpsRedirect, and
 * other protocols may have none (istio {@code validateServer}: errors).
 */
class GatewayTlsModeTest {

    static ConfigValidator.Result validate(String servers) {
        List<RawResource> raws = YamlDocuments.parse("""
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                """ + servers.indent(2), "edge.yaml").resources();
        return ConfigValidator.validate(raws.get(0));
    }

    static Gateway.Server server(ConfigValidator.Result r, int i) {
        assertTrue(r.valid(), r.reason());
        return ((Gateway) r.model()).servers().get(i);
    }

    @Test
    void anHttpsOrTlsServerWhoseTlsHasNoModeIsPassthrough() {
        ConfigValidator.Result r = validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                  tls: {}
                - port: {number: 8443, name: tls, protocol: TLS}
                  hosts: [db.example.com]
                  tls: {subjectAltNames: []}
                """);
        assertEquals(List.of(), r.warnings());
        for (int i = 0; i < 2; i++) {
            Gateway.Server s = server(r, i);
            assertEquals("PASSTHROUGH", s.tls().mode());
            assertTrue(s.passthrough(), s.name());
            assertFalse(s.terminatesTls(), "TLS is not terminated");
            assertTrue(s.l4(), "served by SNI with tls routes");
            assertNull(s.unserved());
        }
    }

    @Test
    void aCredentialNameWithoutModeIsIgnoredWithAWarningThatSaysHowToTerminate() {
        ConfigValidator.Result r = validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                  tls: {credentialName: shop-cert}
                """);
        Gateway.Server s = server(r, 0);
        assertTrue(s.passthrough());
        assertFalse(s.terminatesTls());
        assertEquals(List.of("spec.servers[0].tls.credentialName: has no effect: a tls block without mode is PASSTHROUGH,"
                + " as in Istio, so TLS is not terminated here; set mode: SIMPLE to terminate TLS with this certificate"),
                r.warnings());
    }

    @Test
    void certificatesOnAnExplicitPassthroughServerAreIgnoredWithAWarningAsIstiodDoes() {
        ConfigValidator.Result r = validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                  tls: {mode: PASSTHROUGH, credentialName: shop-cert, serverCertificate: /etc/certs/cert.pem}
                - port: {number: 15443, name: tls, protocol: TLS}
                  hosts: ["*.local"]
                  tls: {mode: AUTO_PASSTHROUGH, credentialNames: [a, b]}
                """);
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of(
                "spec.servers[0].tls.credentialName: has no effect in mode PASSTHROUGH: TLS is not terminated here",
                "spec.servers[0].tls.serverCertificate: has no effect in mode PASSTHROUGH: TLS is not terminated here",
                "spec.servers[1].tls.credentialNames: has no effect in mode AUTO_PASSTHROUGH: TLS is not terminated"
                        + " here"), r.warnings());
    }

    @Test
    void anExplicitSimpleModeStillTerminatesWithTheCredential() {
        ConfigValidator.Result r = validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                  tls: {mode: SIMPLE, credentialName: shop-cert}
                """);
        assertEquals(List.of(), r.warnings());
        Gateway.Server s = server(r, 0);
        assertTrue(s.terminatesTls());
        assertFalse(s.passthrough());
        assertEquals("shop-cert", s.tls().credentialName());
    }

    @Test
    void anHttpServerWithHttpsRedirectStaysAPlainRedirectingServer() {
        ConfigValidator.Result r = validate("""
                - port: {number: 80, name: http, protocol: HTTP}
                  hosts: [shop.example.com]
                  tls: {httpsRedirect: true}
                - port: {number: 8080, name: http-explicit, protocol: HTTP}
                  hosts: [shop.example.com]
                  tls: {mode: PASSTHROUGH, httpsRedirect: true}
                """);
        assertEquals(List.of(), r.warnings());
        for (int i = 0; i < 2; i++) {
            Gateway.Server s = server(r, i);
            assertTrue(s.tls().httpsRedirect());
            assertFalse(s.passthrough(), "not a passthrough server: the mode matters for HTTPS and TLS servers only");
            assertFalse(s.terminatesTls());
            assertFalse(s.l4(), "an HTTP listener");
            assertNull(s.unserved());
        }
    }

    @Test
    void aCredentialNameOnARedirectingHttpServerIsIgnoredWithAWarning() {
        ConfigValidator.Result r = validate("""
                - port: {number: 80, name: http, protocol: HTTP}
                  hosts: [shop.example.com]
                  tls: {httpsRedirect: true, credentialName: shop-cert}
                """);
        assertNull(server(r, 0).unserved());
        assertEquals(List.of("spec.servers[0].tls.credentialName: has no effect on a plain text HTTP server: TLS is not"
                + " terminated here"), r.warnings());
    }

    @Test
    void httpsRedirectOnAServerThatIsNotPlainHttpHasNoEffectAndIsWarnedOf() {
        ConfigValidator.Result r = validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                  tls: {mode: SIMPLE, credentialName: shop-cert, httpsRedirect: true}
                """);
        assertTrue(server(r, 0).terminatesTls());
        assertEquals(List.of("spec.servers[0].tls.httpsRedirect: has no effect on an HTTPS server: it redirects plain text"
                + " HTTP clients to https, and belongs on HTTP servers"), r.warnings());
    }

    static Stream<Arguments> rejected() {
        String http = "a plain text %s server cannot have TLS settings other than httpsRedirect (no mode, no certificate"
                + " files): TLS is terminated on HTTPS and TLS servers";
        String other = "a %s server cannot have TLS settings (only HTTPS and TLS servers have them, and HTTP servers for"
                + " httpsRedirect)";
        return Stream.of(
                Arguments.of("HTTP", "{mode: SIMPLE, credentialName: shop-cert, httpsRedirect: true}", http),
                Arguments.of("HTTP", "{mode: ISTIO_MUTUAL}", http),
                Arguments.of("HTTP", "{httpsRedirect: true, serverCertificate: /etc/certs/cert.pem}", http),
                Arguments.of("HTTP2", "{mode: MUTUAL, credentialName: api}", http),
                Arguments.of("GRPC", "{httpsRedirect: true, privateKey: /etc/certs/key.pem}", http),
                Arguments.of("TCP", "{mode: SIMPLE, credentialName: db}", other),
                Arguments.of("TCP", "{credentialName: db}", other),
                Arguments.of("MONGO", "{mode: PASSTHROUGH}", other));
    }

    @ParameterizedTest(name = "{0} tls: {1}")
    @MethodSource("rejected")
    void tlsSettingsThatIstiodRejectsForThePortsProtocolAreErrors(String protocol, String tls, String error) {
        ConfigValidator.Result r = validate("""
                - port: {number: 9000, name: p, protocol: %s}
                  hosts: ["*"]
                  tls: %s
                """.formatted(protocol, tls));
        assertFalse(r.valid());
        assertEquals(List.of("spec.servers[0].tls: " + error.formatted(protocol)), r.errors());
    }

    @Test
    void anHttpsServerWithoutAnyTlsIsStillAnError() {
        ConfigValidator.Result r = validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                """);
        assertFalse(r.valid());
        assertEquals(List.of("spec.servers[0].tls: an HTTPS server must have TLS settings, as istiod requires of HTTPS"
                + " and TLS servers: tls.mode SIMPLE, MUTUAL or OPTIONAL_MUTUAL with a credentialName, ISTIO_MUTUAL,"
                + " PASSTHROUGH or AUTO_PASSTHROUGH"), r.errors());
    }
}
