package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol;
import io.mesh.gateway.tls.ServerTlsParams;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Envoy's tls_params as a server reads them, and the reasons for what the proxy cannot serve. */
class TlsParamsTranslatorTest {

    private static ServerTlsParams translate(TlsParameters p) throws ConfigRejected {
        return TlsParamsTranslator.translate(p, "listener l filter chain #0");
    }

    private static String rejected(TlsParameters p) {
        return assertThrows(ConfigRejected.class, () -> translate(p)).getMessage();
    }

    @Test
    void noTlsParamsMeansTheEnginesDefaults() throws Exception {
        assertNull(translate(TlsParameters.getDefaultInstance()));
    }

    @Test
    void tlsAutoIsTls12To13AndCipherSuitesAddTheTls13OnesInJavaNames() throws Exception {
        ServerTlsParams p = translate(TlsParameters.newBuilder()
                .addCipherSuites("ECDHE-RSA-AES128-GCM-SHA256").addCipherSuites("ECDHE-ECDSA-CHACHA20-POLY1305")
                .addCipherSuites("ECDHE-RSA-AES128-GCM-SHA256").build());
        assertEquals(List.of("TLSv1.2", "TLSv1.3"), p.protocols());
        assertEquals(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"), p.cipherSuites());
        ServerTlsParams only13 = translate(TlsParameters.newBuilder()
                .setTlsMinimumProtocolVersion(TlsProtocol.TLSv1_3).build());
        assertEquals(List.of("TLSv1.3"), only13.protocols());
        assertEquals(List.of(), only13.cipherSuites(), "the engine's suites");
        assertEquals(List.of("TLSv1.2"), translate(TlsParameters.newBuilder()
                .setTlsMaximumProtocolVersion(TlsProtocol.TLSv1_2).build()).protocols());
    }

    @Test
    void whatCannotBeServedIsRejectedNamingTheField() {
        assertTrue(rejected(TlsParameters.newBuilder().addCipherSuites("ALL").build())
                .contains("tls_params cipher_suites: unknown cipher suite \"ALL\""));
        assertTrue(rejected(TlsParameters.newBuilder().addCipherSuites("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").build())
                .contains("unknown cipher suite \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\" (OpenSSL's names"));
        assertTrue(rejected(TlsParameters.newBuilder().addCipherSuites("DES-CBC3-SHA").build())
                .contains("\"DES-CBC3-SHA\""));
        assertEquals("listener l filter chain #0: tls_params tls_maximum_protocol_version TLSv1_1: TLS below 1.2 is not"
                + " served (the JDK's TLS disables it); TLSv1_2 and TLSv1_3 are", rejected(TlsParameters.newBuilder()
                        .setTlsMaximumProtocolVersion(TlsProtocol.TLSv1_1).build()));
        assertTrue(rejected(TlsParameters.newBuilder().addEcdhCurves("P-256").build())
                .contains("tls_params ecdh_curves and signature_algorithms are not served"));
    }
}
