package io.mesh.config;

import static io.mesh.config.GatewayTlsModeTest.server;
import static io.mesh.config.GatewayTlsModeTest.validate;
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
 * A Gateway server's tls block as istiod's {@code validateTLSOptions} judges it (istio
 * {@code pkg/config/validation/validation.go}): ISTIO_MUTUAL takes no certificate of its own, one certificate source at
 * most, SIMPLE and MUTUAL without a credential need their files, a CRL only where it can apply; unknown and repeated
 * cipher suites are warnings. A rejected Gateway is never served: the last good one stays (pilot's BadConfigTest).
 */
class GatewayTlsOptionsTest {

    static ConfigValidator.Result https(String tls) {
        return validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                  tls: %s
                """.formatted(tls));
    }

    static final String MESH_CERT = ": it uses the gateway's own mesh certificate";
    static final String ONE_SOURCE = "spec.servers[0].tls: only one of credentialName, credentialNames,"
            + " serverCertificate/privateKey and tlsCertificates may be set";

    static Stream<Arguments> rejected() {
        String at = "spec.servers[0].tls.";
        return Stream.of(
                Arguments.of("{mode: ISTIO_MUTUAL, credentialName: shop-cert}",
                        List.of(at + "credentialName: ISTIO_MUTUAL TLS cannot have an associated credentialName" + MESH_CERT)),
                Arguments.of("{mode: ISTIO_MUTUAL, credentialNames: [a]}",
                        List.of(at + "credentialNames: ISTIO_MUTUAL TLS cannot have an associated credentialNames" + MESH_CERT)),
                Arguments.of("{mode: ISTIO_MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem}",
                        List.of(at + "serverCertificate: ISTIO_MUTUAL TLS cannot have an associated server certificate"
                                + MESH_CERT, at + "privateKey: ISTIO_MUTUAL TLS cannot have an associated private key"
                                + MESH_CERT, at + "caCertificates: ISTIO_MUTUAL TLS cannot have an associated CA bundle"
                                + MESH_CERT)),
                Arguments.of("{mode: ISTIO_MUTUAL, tlsCertificates: [{serverCertificate: /c.pem, privateKey: /k.pem}]}",
                        List.of(at + "tlsCertificates: ISTIO_MUTUAL TLS cannot have an associated tlsCertificates"
                                + MESH_CERT)),
                Arguments.of("{mode: SIMPLE, credentialName: shop-cert, serverCertificate: /c.pem, privateKey: /k.pem}",
                        List.of(ONE_SOURCE)),
                Arguments.of("{mode: MUTUAL, credentialName: shop-cert, credentialNames: [a, b]}", List.of(ONE_SOURCE)),
                Arguments.of("{mode: PASSTHROUGH, credentialName: a, tlsCertificates: [{serverCertificate: /c.pem}]}",
                        List.of(ONE_SOURCE)),
                Arguments.of("{mode: SIMPLE}", List.of(
                        at + "serverCertificate: SIMPLE TLS requires a server certificate (serverCertificate), or a"
                                + " credentialName",
                        at + "privateKey: SIMPLE TLS requires a private key (privateKey), or a credentialName")),
                Arguments.of("{mode: SIMPLE, credentialName: \"\", serverCertificate: /c.pem}", List.of(
                        at + "privateKey: SIMPLE TLS requires a private key (privateKey), or a credentialName")),
                Arguments.of("{mode: MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem}", List.of(
                        at + "caCertificates: MUTUAL TLS requires a client CA bundle (caCertificates), or a credentialName"
                                + " whose Secret holds it")),
                Arguments.of("{mode: OPTIONAL_MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem}", List.of(
                        at + "caCertificates: MUTUAL TLS requires a client CA bundle (caCertificates), or a credentialName"
                                + " whose Secret holds it")),
                Arguments.of("{mode: SIMPLE, tlsCertificates: [{privateKey: /k.pem}, {serverCertificate: /c.pem,"
                        + " privateKey: /k.pem}]}", List.of(at + "tlsCertificates[0].serverCertificate: SIMPLE TLS requires"
                                + " a server certificate (serverCertificate), or a credentialName")),
                Arguments.of("{mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem, caCrl: /crl.pem}", List.of(
                        at + "caCrl: CRL is not supported with SIMPLE TLS: it checks no client certificates")),
                Arguments.of("{mode: PASSTHROUGH, credentialName: shop-cert, caCrl: /crl.pem}", List.of(
                        at + "caCrl: CRL is not supported with credentialName: the CRL belongs in the credential")),
                Arguments.of("{mode: SIMPLE, credentialName: shop-cert, maxProtocolVersion: TLSV1_9}", List.of(
                        at + "maxProtocolVersion: unknown TLS protocol version \"TLSV1_9\" (TLS_AUTO, TLSV1_0, TLSV1_1,"
                                + " TLSV1_2, TLSV1_3)")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejected")
    void tlsOptionsThatIstiodRejectsAreErrors(String tls, List<String> errors) {
        ConfigValidator.Result r = https(tls);
        assertFalse(r.valid());
        assertEquals(errors, r.errors());
    }

    @Test
    void istioMutualWithACredentialIsRejectedOnATlsServerToo() {
        ConfigValidator.Result r = validate("""
                - port: {number: 15443, name: tls-mesh, protocol: TLS}
                  hosts: ["*.local"]
                  tls: {mode: ISTIO_MUTUAL, credentialName: east-west}
                """);
        assertEquals(List.of("spec.servers[0].tls.credentialName: ISTIO_MUTUAL TLS cannot have an associated"
                + " credentialName" + MESH_CERT), r.errors());
    }

    @Test
    void aCaBundleBesideCredentialNameIsAcceptedAsIstiodDoesAndHasNoEffect() {
        ConfigValidator.Result r = https("{mode: MUTUAL, credentialName: shop-cert, caCertificates: /ca.pem,"
                + " caCrl: /crl.pem}");
        assertTrue(server(r, 0).terminatesTls());
        assertEquals(List.of(
                "spec.servers[0].tls.caCertificates: has no effect here: the certificate comes from credentialName",
                "spec.servers[0].tls.caCrl: has no effect here: the gateway checks no CRL"), r.warnings());
    }

    @Test
    void credentialNamesAreServedWithEveryCertificateAndTheFirstOnesCa() {
        ConfigValidator.Result r = https("{mode: MUTUAL, credentialNames: [shop-rsa, shop-ecdsa]}");
        assertEquals(List.of(), r.warnings());
        Gateway.Server s = server(r, 0);
        assertNull(s.unserved());
        assertTrue(s.terminatesTls());
        assertEquals(List.of("shop-rsa", "shop-ecdsa"), s.tls().credentials());
        assertEquals("MUTUAL shop-rsa []", s.clientCertificates(), "client certificates: the first credential's CA");
    }

    @Test
    void moreThanTwoCredentialNamesIsAWarning() {
        ConfigValidator.Result r = https("{mode: SIMPLE, credentialNames: [a, b, c]}");
        assertEquals(List.of("spec.servers[0].tls.credentialNames: SIMPLE TLS can support up to 2 server certificates (an"
                + " RSA and an ECDSA one): a client gets the first of the key type it can verify"), r.warnings());
        assertNull(server(r, 0).unserved());
    }

    @Test
    void moreThanTwoServerCertificatesIsAWarningAsInIstiod() {
        ConfigValidator.Result r = https("{mode: SIMPLE, tlsCertificates: [{serverCertificate: /1.pem, privateKey: /1.key},"
                + " {serverCertificate: /2.pem, privateKey: /2.key}, {serverCertificate: /3.pem, privateKey: /3.key}]}");
        assertTrue(r.valid(), r.reason());
        assertEquals("spec.servers[0].tls.tlsCertificates: SIMPLE TLS can support up to 2 server certificates",
                r.warnings().get(0));
        assertTrue(server(r, 0).unserved() != null, "files: left out");
    }

    @Test
    void aCrlFileOnAnIstioMutualServerLeavesTheServerOutRatherThanAcceptRevokedClients() {
        ConfigValidator.Result r = https("{mode: ISTIO_MUTUAL, caCrl: /etc/certs/crl.pem}");
        assertEquals(List.of("spec.servers[0]: TLS mode ISTIO_MUTUAL with a CRL file (caCrl) is not served (the proxy"
                + " reads no files, and would accept the revoked client certificates): this gateway leaves the server"
                + " out (no listener for it)"), r.warnings());
        assertTrue(server(r, 0).tls().crl());
    }

    @Test
    void unknownAndRepeatedCipherSuitesAndOldVersionsWithoutCiphersAreWarnedOfAsIstiodDoes() {
        ConfigValidator.Result r = validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                  tls:
                    mode: SIMPLE
                    credentialName: shop-cert
                    cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256, TLS_NOT_A_CIPHER, ECDHE-RSA-AES128-GCM-SHA256, "-ALL", ALL]
                - port: {number: 8443, name: https-old, protocol: HTTPS}
                  hosts: [old.example.com]
                  tls: {mode: SIMPLE, credentialName: old-cert, minProtocolVersion: TLSV1_1, maxProtocolVersion: TLSV1_2}
                """);
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of(
                "spec.servers[0].tls.cipherSuites: ignoring invalid cipher suites: [TLS_NOT_A_CIPHER]",
                "spec.servers[0].tls.cipherSuites: ignoring duplicate cipher suites: [ECDHE-RSA-AES128-GCM-SHA256]",
                "spec.servers[1].tls.minProtocolVersion: TLS versions below TLSV1_2 need cipherSuites that they support:"
                        + " the default ones no longer include any"), r.warnings());
        // What istiod's filteredGatewayCipherSuites passes on: the valid names once, in order ("-ALL" and "ALL" are
        // OpenSSL cipher-string syntax it lets through).
        assertEquals(List.of("ECDHE-RSA-AES128-GCM-SHA256", "-ALL", "ALL"), server(r, 0).tls().cipherSuites());
        assertNull(server(r, 0).tls().minProtocolVersion());
        assertEquals("TLSV1_1", server(r, 1).tls().minProtocolVersion());
        assertEquals("TLSV1_2", server(r, 1).tls().maxProtocolVersion());
        assertTrue(server(r, 1).tls().tlsParams());
    }

    @Test
    void versionsAndCipherSuitesOnAnIstioMutualOrPassthroughServerAreWarnedOfAsIstiodIgnoresThem() {
        ConfigValidator.Result r = validate("""
                - port: {number: 443, name: https, protocol: HTTPS}
                  hosts: [shop.example.com]
                  tls: {mode: ISTIO_MUTUAL, minProtocolVersion: TLSV1_3}
                - port: {number: 8443, name: tls, protocol: TLS}
                  hosts: [db.example.com]
                  tls: {mode: PASSTHROUGH, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]}
                - port: {number: 9443, name: https-auto, protocol: HTTPS}
                  hosts: [api.example.com]
                  tls: {mode: SIMPLE, credentialName: api-cert, minProtocolVersion: TLS_AUTO, maxProtocolVersion: TLS_AUTO}
                """);
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of(
                "spec.servers[0].tls.minProtocolVersion: has no effect in mode ISTIO_MUTUAL: istiod sets TLS versions"
                        + " and cipher suites on SIMPLE, MUTUAL and OPTIONAL_MUTUAL servers only",
                "spec.servers[1].tls.cipherSuites: has no effect in mode PASSTHROUGH: istiod sets TLS versions and"
                        + " cipher suites on SIMPLE, MUTUAL and OPTIONAL_MUTUAL servers only"), r.warnings());
        assertFalse(server(r, 2).tls().tlsParams(), "TLS_AUTO is the engine's default, as unset");
    }

    @Test
    void anHttpsServerInAutoPassthroughModeIsServedAsATlsOneAsIstiodDoes() {
        ConfigValidator.Result r = validate("""
                - port: {number: 15443, name: https-sni, protocol: HTTPS}
                  hosts: ["*.local"]
                  tls: {mode: AUTO_PASSTHROUGH}
                """);
        assertEquals(List.of(), r.warnings());
        Gateway.Server s = server(r, 0);
        assertTrue(s.autoPassthrough());
        assertTrue(s.l4(), "a TCP listener routed by SNI: no HTTP is parsed");
        assertFalse(s.terminatesTls());
        assertNull(s.unserved());
    }
}
