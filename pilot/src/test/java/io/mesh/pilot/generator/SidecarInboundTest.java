package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
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
        return chains(WEB_POD, snapshot);
    }

    static Map<String, String> chains(ProxyInfo proxy, MeshSnapshot snapshot) {
        Listener inbound = listener(proxy, snapshot, "virtualInbound");
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
                selector: {matchLabels: {app: web}}
                mtls: {mode: STRICT}
                portLevelMtls:
                  9091: {mode: DISABLE}"""));
        com.google.protobuf.Struct labels = com.google.protobuf.Struct.newBuilder().putFields("app",
                com.google.protobuf.Value.newBuilder().setStringValue("web").build()).build();
        ProxyInfo web = ProxyInfo.from(io.envoyproxy.envoy.config.core.v3.Node.newBuilder()
                .setId("sidecar~10.0.0.1~pod-1.demo~demo.svc.cluster.local").setMetadata(com.google.protobuf.Struct.newBuilder()
                        .putFields("LABELS", com.google.protobuf.Value.newBuilder().setStructValue(labels).build())).build());
        assertEquals(Map.of("inbound|8081||-tls", "8081/tls", "inbound|9091||-raw_buffer", "9091/raw_buffer"),
                chains(web, s));
        assertEquals(Map.of("inbound|8081||-tls", "8081/tls", "inbound|8081||-raw_buffer", "8081/raw_buffer",
                "inbound|9091||-tls", "9091/tls", "inbound|9091||-raw_buffer", "9091/raw_buffer"), chains(s),
                "a pod the selector does not take has no policy: PERMISSIVE on every port");
    }

    @Test
    void theRootNamespacePolicyAppliesWhenTheNamespaceHasNone() {
        MeshSnapshot s = snapshot(peerAuthentication("istio-system", "mtls: {mode: STRICT}"));
        assertEquals(Map.of("inbound|8081||-tls", "8081/tls", "inbound|9091||-tls", "9091/tls"), chains(s));
    }

    /** web with an HTTP port and a TCP one (a database), and a TCP-only service that shares web's HTTP port. */
    static final String WEB_AND_DB = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: web, namespace: demo}
            spec:
              hosts: [web.demo.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 80, name: http, protocol: HTTP}, {number: 5432, name: tcp-db, protocol: TCP}]
              resolution: STATIC
              endpoints:
              - {address: 10.0.0.1, ports: {http: 8081, tcp-db: 5433}}
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: raw, namespace: demo}
            spec:
              hosts: [raw.demo.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 7000, name: tcp-raw, protocol: TCP}]
              resolution: STATIC
              endpoints:
              - {address: 10.0.0.1, ports: {tcp-raw: 8081}}
            """;

    static Filter onlyFilter(FilterChain c) {
        assertEquals(1, c.getFiltersCount(), c.getName());
        return c.getFilters(0);
    }

    static FilterChain chain(Listener l, String name) {
        return l.getFilterChainsList().stream().filter(c -> c.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no chain " + name));
    }

    @Test
    void aTcpPortGetsTcpProxyChainsToItsInboundClusterPerMode() {
        String tcpPolicy = """
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: demo}
                spec:
                  mtls: {mode: %s}
                """;
        MeshSnapshot permissive = snapshot(WEB_AND_DB);
        assertEquals(Map.of("inbound|8081||-tls", "8081/tls", "inbound|8081||-raw_buffer", "8081/raw_buffer",
                "inbound|5433||-tls", "5433/tls", "inbound|5433||-raw_buffer", "5433/raw_buffer"), chains(permissive));
        Listener inbound = listener(WEB_POD, permissive, "virtualInbound");
        for (String name : List.of("inbound|5433||-tls", "inbound|5433||-raw_buffer")) {
            FilterChain c = chain(inbound, name);
            Filter f = tcpProxyAfterExchange(c);
            TcpProxy tcp = unpack(f.getTypedConfig(), TcpProxy.class);
            assertEquals("inbound|5433||", tcp.getCluster());
            assertEquals("inbound|5433||", tcp.getStatPrefix());
            assertEquals(name.endsWith("-tls"), c.hasTransportSocket(), name);
        }
        // The TLS chain terminates mesh mTLS as an HTTP port's does, its ALPN istiod's for TCP: the metadata exchange first.
        DownstreamTlsContext http = unpack(chain(inbound, "inbound|8081||-tls").getTransportSocket().getTypedConfig(),
                DownstreamTlsContext.class);
        DownstreamTlsContext tcp = unpack(chain(inbound, "inbound|5433||-tls").getTransportSocket().getTypedConfig(),
                DownstreamTlsContext.class);
        assertEquals(List.of("istio-peer-exchange", "h2", "http/1.1"), tcp.getCommonTlsContext().getAlpnProtocolsList());
        assertEquals(List.of("h2", "http/1.1", "istio"), http.getCommonTlsContext().getAlpnProtocolsList());
        assertEquals(http.toBuilder().setCommonTlsContext(http.getCommonTlsContext().toBuilder().clearAlpnProtocols()).build(),
                tcp.toBuilder().setCommonTlsContext(tcp.getCommonTlsContext().toBuilder().clearAlpnProtocols()).build());
        // The TCP port's inbound cluster exists (tcp_proxy's target): the app on localhost.
        assertEquals("inbound|5433||", SidecarFixtures.cluster(WEB_POD, permissive, "inbound|5433||").getName());

        MeshSnapshot strict = snapshot(WEB_AND_DB + tcpPolicy.formatted("STRICT"));
        assertEquals(Map.of("inbound|8081||-tls", "8081/tls", "inbound|5433||-tls", "5433/tls"), chains(strict));
        tcpProxyAfterExchange(chain(listener(WEB_POD, strict, "virtualInbound"), "inbound|5433||-tls"));
        MeshSnapshot disable = snapshot(WEB_AND_DB + tcpPolicy.formatted("DISABLE"));
        assertEquals(Map.of("inbound|8081||-raw_buffer", "8081/raw_buffer", "inbound|5433||-raw_buffer",
                "5433/raw_buffer"), chains(disable));
        tcpProxyAfterExchange(chain(listener(WEB_POD, disable, "virtualInbound"), "inbound|5433||-raw_buffer"));
    }

    /**
     * A TCP port's chain without RBAC: Istio's TCP metadata exchange (istiod's TCPListenerMx: a TypedStruct of
     * {@code envoy.tcp.metadataexchange.config.MetadataExchange}, protocol istio-peer-exchange), then the tcp_proxy,
     * which is returned.
     */
    static Filter tcpProxyAfterExchange(FilterChain c) {
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.network.tcp_proxy"),
                c.getFiltersList().stream().map(Filter::getName).toList(), c.getName());
        com.github.xds.type.v3.TypedStruct mx = unpack(c.getFilters(0).getTypedConfig(), com.github.xds.type.v3.TypedStruct.class);
        assertEquals("type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange", mx.getTypeUrl());
        assertEquals("istio-peer-exchange", mx.getValue().getFieldsOrThrow("protocol").getStringValue());
        assertTrue(mx.getValue().getFieldsOrThrow("enable_discovery").getBoolValue());
        return c.getFilters(1);
    }

    @Test
    void aPortAnyServiceDeclaresHttpKeepsItsHcmAndRbac() {
        MeshSnapshot s = snapshot(WEB_AND_DB + """
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: demo}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {paths: [/admin]}}]}]
                """);
        Listener inbound = listener(WEB_POD, s, "virtualInbound");
        for (String name : List.of("inbound|8081||-tls", "inbound|8081||-raw_buffer")) {
            Filter f = onlyFilter(chain(inbound, name));
            assertEquals("envoy.filters.network.http_connection_manager", f.getName(), name);
            HttpConnectionManager hcm = unpack(f.getTypedConfig(), HttpConnectionManager.class);
            assertEquals(List.of("istio.metadata_exchange", "envoy.filters.http.rbac.deny", "envoy.filters.http.router"),
                    hcm.getHttpFiltersList().stream().map(h -> h.getName()).toList());
            assertEquals("inbound|8081||", hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0).getRoute().getCluster());
        }
        // The TCP port's chains get the network RBAC filter instead (RbacTest covers its rules), then the tcp_proxy.
        for (String name : List.of("inbound|5433||-tls", "inbound|5433||-raw_buffer")) {
            assertEquals(List.of("istio.metadata_exchange", "envoy.filters.network.rbac.deny", "envoy.filters.network.tcp_proxy"),
                    chain(inbound, name).getFiltersList().stream().map(Filter::getName).toList(), name);
        }
    }
}
