package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.mesh.pilot.model.MeshSnapshot;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule's SIMPLE and MUTUAL TLS origination as istiod's constructUpstreamTLS and
 * setAutoSniAndAutoSanValidation build it: the rule's SNI or else the Host of each request (auto SNI) with the
 * certificate checked against that Host (auto SAN validation), the system roots unless a credential names a CA, and
 * {@code insecureSkipVerify} as no validation at all.
 */
class TlsOriginationTest {

    static final String ENTRY = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: api, namespace: demo}
            spec:
              hosts: [api.example.com]
              location: MESH_EXTERNAL
              resolution: DNS
              ports: [{number: 443, name: http-tls, protocol: HTTP}]
            ---
            """;

    static Cluster cluster(String tls) {
        MeshSnapshot s = snapshot(ENTRY + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: api, namespace: demo}
                spec:
                  host: api.example.com
                  trafficPolicy:
                    tls: %s
                """.formatted(tls));
        return SidecarFixtures.cluster(DestinationRulePolicyTest.SIDECAR, s, "outbound|443||api.example.com");
    }

    static UpstreamTlsContext tls(Cluster c) {
        return unpack(c.getTransportSocket().getTypedConfig(), UpstreamTlsContext.class);
    }

    static io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions auto(Cluster c) {
        return unpack(c.getTypedExtensionProtocolOptionsOrThrow(ClusterPolicy.HTTP_PROTOCOL_OPTIONS),
                HttpProtocolOptions.class).getUpstreamHttpProtocolOptions();
    }

    @Test
    void simpleWithoutSniTakesTheHostAsSniAndChecksTheCertificateAgainstItWithTheSystemRoots() {
        Cluster c = cluster("{mode: SIMPLE}");
        UpstreamTlsContext t = tls(c);
        assertEquals("", t.getSni(), "no fixed SNI: not the mesh's outbound_ name, which no external server knows");
        assertEquals("file-root:system", t.getCommonTlsContext().getValidationContextSdsSecretConfig().getName());
        assertTrue(auto(c).getAutoSni());
        assertTrue(auto(c).getAutoSanValidation());
    }

    @Test
    void aSniOfTheRuleIsSentAndTurnsTheHostBasedChecksOff() {
        Cluster c = cluster("{mode: SIMPLE, sni: edge.example.com}");
        assertEquals("edge.example.com", tls(c).getSni());
        assertFalse(c.containsTypedExtensionProtocolOptions(ClusterPolicy.HTTP_PROTOCOL_OPTIONS), "no auto SNI");
    }

    @Test
    void subjectAltNamesAreCheckedInsteadOfTheHost() {
        Cluster c = cluster("{mode: SIMPLE, subjectAltNames: [api.internal]}");
        CommonTlsContext.CombinedCertificateValidationContext v = tls(c).getCommonTlsContext()
                .getCombinedValidationContext();
        assertEquals("api.internal", v.getDefaultValidationContext().getMatchSubjectAltNames(0).getExact());
        assertEquals("file-root:system", v.getValidationContextSdsSecretConfig().getName());
        assertTrue(auto(c).getAutoSni());
        assertFalse(auto(c).getAutoSanValidation());
    }

    @Test
    void aCredentialsCaIsTrustedInsteadOfTheSystemRoots() {
        Cluster simple = cluster("{mode: SIMPLE, credentialName: api-ca}");
        assertEquals("kubernetes://api-ca-cacert", tls(simple).getCommonTlsContext().getValidationContextSdsSecretConfig()
                .getName());
        Cluster mutual = cluster("{mode: MUTUAL, credentialName: client}");
        CommonTlsContext common = tls(mutual).getCommonTlsContext();
        assertEquals("kubernetes://client", common.getTlsCertificateSdsSecretConfigs(0).getName());
        assertEquals("kubernetes://client-cacert", common.getValidationContextSdsSecretConfig().getName());
        assertTrue(auto(mutual).getAutoSanValidation());
    }

    @Test
    void insecureSkipVerifySendsNoValidationAndNoSanCheck() {
        Cluster simple = cluster("{mode: SIMPLE, insecureSkipVerify: true}");
        CommonTlsContext common = tls(simple).getCommonTlsContext();
        assertTrue(common.hasValidationContext(), "istiod's empty validation context");
        assertEquals(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext
                .getDefaultInstance(), common.getValidationContext());
        assertFalse(common.hasValidationContextSdsSecretConfig());
        assertTrue(auto(simple).getAutoSni(), "the Host is still the SNI");
        assertFalse(auto(simple).getAutoSanValidation());

        Cluster mutual = cluster("{mode: MUTUAL, credentialName: client, insecureSkipVerify: true}");
        common = tls(mutual).getCommonTlsContext();
        assertEquals("kubernetes://client", common.getTlsCertificateSdsSecretConfigs(0).getName());
        assertFalse(common.hasValidationContext() || common.hasValidationContextSdsSecretConfig()
                || common.hasCombinedValidationContext(), "the client certificate only: " + common);
    }
}
