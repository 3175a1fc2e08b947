package io.mesh.config;

import static io.mesh.config.GatewayTlsModeTest.server;
import static io.mesh.config.GatewayTlsOptionsTest.https;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * verifyCertificateSpki and verifyCertificateHash on a Gateway server: read as istiod reads them, checked as Envoy checks
 * them (a SHA-256 each), and a warning where istiod writes no pin.
 */
class GatewayClientPinsTest {

    static final String SPKI = "2IEpPESU/mmC30tPsnOfbGKdwKdQfN/wZw1QWpjGlmQ=";
    static final String HASH = "DF:6F:F7:2F:E9:11:65:21:26:8F:66:44:38:2F:F3:E5:E6:2F:A3:B1:3E:F5:C0:67:80:D2:B2:3B:AC:C1:CE:BB";

    @Test
    void pinsOnAMutualServerAreReadWithoutWarnings() {
        ConfigValidator.Result r = https("{mode: MUTUAL, credentialName: shop, verifyCertificateSpki: [" + SPKI + "],"
                + " verifyCertificateHash: [\"" + HASH + "\", " + HASH.replace(":", "").toLowerCase() + "]}");
        assertEquals(List.of(), r.warnings());
        Gateway.ServerTls tls = server(r, 0).tls();
        assertEquals(List.of(SPKI), tls.verifyCertificateSpki());
        assertEquals(List.of(HASH, HASH.replace(":", "").toLowerCase()), tls.verifyCertificateHash());
        assertNull(server(r, 0).unserved());
    }

    @Test
    void aPinThatIsNoSha256IsRejectedAsEnvoyWouldRejectTheListener() {
        ConfigValidator.Result r = https("{mode: MUTUAL, credentialName: shop, verifyCertificateSpki: [abc],"
                + " verifyCertificateHash: [\"" + HASH.substring(3) + "\", \"" + HASH.replace("DF", "XY") + "\"]}");
        assertFalse(r.valid());
        String at = "spec.servers[0].tls.";
        String spki = " is not a base64-encoded SHA-256 of a SubjectPublicKeyInfo (44 characters), which Envoy requires"
                + " of each pin";
        String hash = " is not a hex-encoded SHA-256 of a certificate (64 hex digits, colons allowed), which Envoy"
                + " requires of each pin";
        assertEquals(List.of(at + "verifyCertificateSpki[0]: \"abc\"" + spki,
                at + "verifyCertificateHash[0]: \"" + HASH.substring(3) + "\"" + hash,
                at + "verifyCertificateHash[1]: \"" + HASH.replace("DF", "XY") + "\"" + hash), r.errors());
    }

    @Test
    void pinsWhereIstiodWritesNoneAreWarnings() {
        ConfigValidator.Result simple = https("{mode: SIMPLE, credentialName: shop, verifyCertificateSpki: [" + SPKI + "]}");
        assertEquals(List.of("spec.servers[0].tls.verifyCertificateSpki: has no effect in mode SIMPLE: client certificates"
                + " are pinned on MUTUAL and OPTIONAL_MUTUAL servers with credentialName or credentialNames, as istiod"
                + " writes them"), simple.warnings());
        ConfigValidator.Result mesh = https("{mode: ISTIO_MUTUAL, verifyCertificateHash: [\"" + HASH + "\"]}");
        assertEquals(List.of("spec.servers[0].tls.verifyCertificateHash: has no effect in mode ISTIO_MUTUAL: client"
                + " certificates are pinned on MUTUAL and OPTIONAL_MUTUAL servers with credentialName or credentialNames,"
                + " as istiod writes them"), mesh.warnings());
    }

    @Test
    void serversThatPinDifferentlyAskDifferentlyForClientCertificates() {
        ConfigValidator.Result r = https("{mode: MUTUAL, credentialName: shop, verifyCertificateSpki: [" + SPKI + "]}");
        assertEquals("MUTUAL shop [] [" + SPKI + "] []", server(r, 0).clientCertificates());
    }
}
