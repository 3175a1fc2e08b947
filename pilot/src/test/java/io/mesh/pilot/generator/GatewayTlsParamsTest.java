package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A gateway server's minProtocolVersion, maxProtocolVersion and cipherSuites as istiod writes them: the
 * DownstreamTlsContext's common_tls_context.tls_params of the server's filter chain, on SIMPLE, MUTUAL and
 * OPTIONAL_MUTUAL servers (HTTPS and TLS) only, with the cipher suites validation kept; none when nothing is set.
 */
class GatewayTlsParamsTest {

    static final String GATEWAY = """
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 443, name: https-modern, protocol: HTTPS}
                hosts: [modern.example.com]
                tls: {mode: SIMPLE, credentialName: modern, minProtocolVersion: TLSV1_3}
              - port: {number: 443, name: https-legacy, protocol: HTTPS}
                hosts: [legacy.example.com]
                tls:
                  mode: SIMPLE
                  credentialName: legacy
                  maxProtocolVersion: TLSV1_2
                  cipherSuites: [ECDHE-RSA-AES256-GCM-SHA384, NOT-A-CIPHER, ECDHE-RSA-AES256-GCM-SHA384,
                    ECDHE-ECDSA-AES128-GCM-SHA256]
              - port: {number: 443, name: https-plain, protocol: HTTPS}
                hosts: [plain.example.com]
                tls: {mode: SIMPLE, credentialName: plain, minProtocolVersion: TLS_AUTO}
              - port: {number: 8443, name: https-optional, protocol: HTTPS}
                hosts: [api.example.com]
                tls: {mode: OPTIONAL_MUTUAL, credentialName: api, minProtocolVersion: TLSV1_2, maxProtocolVersion: TLSV1_3}
              - port: {number: 11443, name: https-mesh, protocol: HTTPS}
                hosts: ["*"]
                tls: {mode: ISTIO_MUTUAL, minProtocolVersion: TLSV1_3}
            """;

    private static DownstreamTlsContext tls(Listener l, String sni) {
        for (FilterChain c : l.getFilterChainsList()) {
            if (c.getFilterChainMatch().getServerNamesList().contains(sni)) {
                return unpack(c.getTransportSocket().getTypedConfig(), DownstreamTlsContext.class);
            }
        }
        throw new AssertionError("no filter chain for " + sni + " in " + l);
    }

    @Test
    void eachServerOnAPortGetsItsOwnVersionsAndCipherSuitesOnItsSniChain() {
        MeshSnapshot s = snapshot(GATEWAY);
        Listener l = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_443");
        assertEquals(TlsParameters.newBuilder().setTlsMinimumProtocolVersion(TlsProtocol.TLSv1_3).build(),
                tls(l, "modern.example.com").getCommonTlsContext().getTlsParams());
        assertEquals(TlsParameters.newBuilder().setTlsMaximumProtocolVersion(TlsProtocol.TLSv1_2)
                .addAllCipherSuites(List.of("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256")).build(),
                tls(l, "legacy.example.com").getCommonTlsContext().getTlsParams(),
                "the valid cipher suites once each, in order (istiod's filteredGatewayCipherSuites)");
        assertFalse(tls(l, "plain.example.com").getCommonTlsContext().hasTlsParams(),
                "TLS_AUTO, as unset, leaves Envoy's defaults");
    }

    @Test
    void optionalMutualServersGetTheirVersionsAndIstioMutualOnesNone() {
        MeshSnapshot s = snapshot(GATEWAY);
        DownstreamTlsContext optional = unpack(listener(GeneratorGoldenTest.router(), s, "0.0.0.0_8443")
                .getFilterChains(0).getTransportSocket().getTypedConfig(), DownstreamTlsContext.class);
        assertEquals(TlsParameters.newBuilder().setTlsMinimumProtocolVersion(TlsProtocol.TLSv1_2)
                .setTlsMaximumProtocolVersion(TlsProtocol.TLSv1_3).build(), optional.getCommonTlsContext().getTlsParams());
        DownstreamTlsContext mesh = unpack(listener(GeneratorGoldenTest.router(), s, "0.0.0.0_11443")
                .getFilterChains(0).getTransportSocket().getTypedConfig(), DownstreamTlsContext.class);
        assertFalse(mesh.getCommonTlsContext().hasTlsParams(), "istiod applies server TLS settings to"
                + " SIMPLE, MUTUAL and OPTIONAL_MUTUAL only");
    }
}
