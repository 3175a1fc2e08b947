package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.mesh.gateway.model.FilterChainSpec;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A downstream TLS context's certificates and client-certificate pins as the gateway reads them: every SDS certificate,
 * in order (Istio's credentialNames); verify_certificate_spki and verify_certificate_hash as SHA-256 digests, a pin that
 * is no SHA-256 NACKed as Envoy rejects it.
 */
class DownstreamCertificatesTranslationTest {

    static final String SPKI = "2IEpPESU/mmC30tPsnOfbGKdwKdQfN/wZw1QWpjGlmQ=";
    static final String HASH = "DF:6F:F7:2F:E9:11:65:21:26:8F:66:44:38:2F:F3:E5:E6:2F:A3:B1:3E:F5:C0:67:80:D2:B2:3B:AC:C1:CE:BB";

    static FilterChainSpec chain(CertificateValidationContext pins, String... secrets) throws ConfigRejected {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
        for (String s : secrets) {
            common.addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName(s));
        }
        common.setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                .setDefaultValidationContext(pins)
                .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName("kubernetes://shop-cacert")));
        DownstreamTlsContext tls = DownstreamTlsContext.newBuilder().setCommonTlsContext(common)
                .setRequireClientCertificate(BoolValue.of(true)).build();
        Listener l = Listener.newBuilder().setName("tls")
                .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0")
                        .setPortValue(9443)))
                .addFilterChains(FilterChain.newBuilder().setTransportSocket(TransportSocket.newBuilder()
                        .setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)))
                        .addFilters(Filter.newBuilder().setName("envoy.filters.network.tcp_proxy")
                                .setTypedConfig(Any.pack(TcpProxy.newBuilder().setStatPrefix("db").setCluster("db")
                                        .build())))).build();
        return ListenerTranslator.translate(l).chains().get(0);
    }

    @Test
    void everyCertificateIsKeptInOrderAndPinsAsDigests() throws ConfigRejected {
        FilterChainSpec c = chain(CertificateValidationContext.newBuilder().addVerifyCertificateSpki(SPKI)
                .addVerifyCertificateHash(HASH).build(), "kubernetes://shop-rsa", "kubernetes://shop-ecdsa");
        assertEquals(List.of("kubernetes://shop-rsa", "kubernetes://shop-ecdsa"), c.secretNames());
        assertEquals(Set.of("d881293c4494fe6982df4b4fb2739f6c629dc0a7507cdff0670d505a98c69664"), c.clientPins().spkiSha256());
        assertEquals(Set.of(HASH.replace(":", "").toLowerCase()), c.clientPins().certSha256());
        assertEquals(List.of("kubernetes://shop"), chain(CertificateValidationContext.getDefaultInstance(),
                "kubernetes://shop").secretNames());
        assertTrue(!chain(CertificateValidationContext.getDefaultInstance(), "kubernetes://shop").clientPins().any());
    }

    @Test
    void aPinThatIsNoSha256IsNacked() {
        ConfigRejected spki = assertThrows(ConfigRejected.class, () -> chain(CertificateValidationContext.newBuilder()
                .addVerifyCertificateSpki("c2hvcnQ=").build(), "kubernetes://shop"));
        assertTrue(spki.getMessage().contains("verify_certificate_spki \"c2hvcnQ=\" is not a base64-encoded SHA-256"),
                spki.getMessage());
        ConfigRejected hash = assertThrows(ConfigRejected.class, () -> chain(CertificateValidationContext.newBuilder()
                .addVerifyCertificateHash(HASH.substring(3)).build(), "kubernetes://shop"));
        assertTrue(hash.getMessage().contains("is not a hex-encoded SHA-256"), hash.getMessage());
    }
}
