package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** virtualInbound's filter chains per PeerAuthentication mode, asserted on the generated protos. */
class SidecarInboundTest {
    static final String WEB = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: web, namespace: demo}
            spec:
              hosts: [web.demo.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 80, name: http, protocol: HTTP}, {number: 90, name: http-admin, protocol: HTTP}]
              resolution: STATIC
              endpoints:
              - {address: 10.0.0.1, ports: {http: 8081, http-admin: 9091}}
            """;
    static final ProxyInfo WEB_POD = sidecar("10.0.0.1", "demo");

    static String peerAuthentication(String namespace, String body) {
        return WEB + "---\n" + """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: %s}
                spec:
                %s
                """.formatted(namespace, body.indent(2));
    }

    /** Chains by name: name -> transport_protocol of its match. */
    static Map<String, String> chains(MeshSnapshot snapshot) {
        Listener inbound = listener(WEB_POD, snapshot, "virtualInbound");
        return inbound.getFilterChainsList().stream().collect(Collectors.toMap(FilterChain::getName,
                c -> c.getFilterChainMatch().getDestinationPort().getValue() + "/"
                        + c.getFilterChainMatch().getTransportProtocol()));
    }

    @Test
    void virtualInboundInspectsTls() {
        Listener inbound = listener(WEB_POD, snapshot(WEB), "virtualInbound");
        List<String> names = inbound.getListenerFiltersList().stream().map(ListenerFilter::getName).toList();
        assertEquals(List.of("envoy.filters.listener.original_dst", "envoy.filters.listener.tls_inspector"), names);
        unpack(inbound.getListenerFilters(1).getTypedConfig(), TlsInspector.class);
    }

    @Test
    void strictHasOnlyATlsChainThatRequiresAClientCertificate() {
        MeshSnapshot s = snapshot(peerAuthentication("demo", "mtls: {mode: STRICT}"));
        assertEquals(Map.of("inbound|8081||-tls", "8081/tls", "inbound|9091||-tls", "9091/tls"), chains(s));
        FilterChain tls = listener(WEB_POD, s, "virtualInbound").getFilterChains(0);
        assertEquals("envoy.transport_sockets.tls", tls.getTransportSocket().getName());
        DownstreamTlsContext ctx = unpack(tls.getTransportSocket().getTypedConfig(), DownstreamTlsContext.class);
        assertTrue(ctx.getRequireClientCertificate().getValue());
        assertEquals("default", ctx.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertEquals("ROOTCA", ctx.getCommonTlsContext().getValidationContextSdsSecretConfig().getName());
        assertEquals(List.of("h2", "http/1.1", "istio"), ctx.getCommonTlsContext().getAlpnProtocolsList());
    }

    @Test
    void permissiveIsTheDefaultAndHasATlsAndAPlaintextChainPerPort() {
        Map<String, String> expected = Map.of("inbound|8081||-tls", "8081/tls", "inbound|8081||-raw_buffer",
                "8081/raw_buffer", "inbound|9091||-tls", "9091/tls", "inbound|9091||-raw_buffer", "9091/raw_buffer");
        assertEquals(expected, chains(snapshot(WEB)));
        MeshSnapshot permissive = snapshot(peerAuthentication("demo", "mtls: {mode: PERMISSIVE}"));
        assertEquals(expected, chains(permissive));
        for (FilterChain c : listener(WEB_POD, permissive, "virtualInbound").getFilterChainsList()) {
            assertEquals(c.getFilterChainMatch().getTransportProtocol().equals("tls"), c.hasTransportSocket(),
                    c.getName());
        }
    }

    @Test
    void disableHasOnlyThePlaintextChain() {
        MeshSnapshot s = snapshot(peerAuthentication("demo", "mtls: {mode: DISABLE}"));
        assertEquals(Map.of("inbound|8081||-raw_buffer", "8081/raw_buffer", "inbound|9091||-raw_buffer",
                "9091/raw_buffer"), chains(s));
        assertFalse(listener(WEB_POD, s, "virtualInbound").getFilterChains(0).hasTransportSocket());
    }

    @Test
    void portLevelMtlsOverridesTheWorkloadMode() {
        MeshSnapshot s = snapshot(peerAuthentication("demo", """
                mtls: {mode: STRICT}
                portLevelMtls:
                  9091: {mode: DISABLE}"""));
        assertEquals(Map.of("inbound|8081||-tls", "8081/tls", "inbound|9091||-raw_buffer", "9091/raw_buffer"),
                chains(s));
    }

    @Test
    void theRootNamespacePolicyAppliesWhenTheNamespaceHasNone() {
        MeshSnapshot s = snapshot(peerAuthentication("istio-system", "mtls: {mode: STRICT}"));
        assertEquals(Map.of("inbound|8081||-tls", "8081/tls", "inbound|9091||-tls", "9091/tls"), chains(s));
    }
}
