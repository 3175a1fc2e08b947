package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;
import org.junit.jupiter.api.Test;

/** match_subject_alt_names of an ISTIO_MUTUAL cluster as pilot sends it: exact SPIFFE IDs; anything else is NACKed. */
class ClusterTranslatorTest {

    static Cluster istioMutual(StringMatcher san) {
        CommonTlsContext common = CommonTlsContext.newBuilder()
                .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default"))
                .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(CertificateValidationContext.newBuilder().addMatchSubjectAltNames(san))
                        .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName("ROOTCA")))
                .build();
        return Cluster.newBuilder().setName("outbound|80||web.demo.svc.cluster.local").setType(Cluster.DiscoveryType.EDS)
                .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                        .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setCommonTlsContext(common).build())))
                .build();
    }

    @Test
    void exactSpiffeIdsAndTheWorkloadSecretsAreKept() throws Exception {
        var tls = ClusterTranslator.translate(istioMutual(StringMatcher.newBuilder()
                .setExact("spiffe://cluster.local/ns/demo/sa/web").build())).tls();
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/web"), tls.subjectAltNames());
        assertEquals("default", tls.certSecret());
        assertEquals("ROOTCA", tls.caSecret());
    }

    @Test
    void aNonExactSanMatcherIsRejectedWithItsKind() {
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(istioMutual(
                StringMatcher.newBuilder().setPrefix("spiffe://cluster.local/").build())));
        assertEquals("cluster outbound|80||web.demo.svc.cluster.local: match_subject_alt_names supports non-empty exact "
                + "matchers only, got PREFIX", e.getMessage());
    }
}
