package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.mesh.config.ConfigValidator;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Gateway servers' TLS as the ingress gateway gets it: SIMPLE terminates, MUTUAL requires and OPTIONAL_MUTUAL asks
 * for a client certificate from the credential's CA, ISTIO_MUTUAL terminates with the gateway's own mesh certificate
 * and requires one from the mesh; TLS servers terminate the same ways for tcp routes; a server no route or service
 * applies to gets no listener (AUTO_PASSTHROUGH: {@link AutoPassthroughTest}).
 */
class GatewayServerTlsTest {

    static final String GATEWAY = """
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 8080, name: http, protocol: HTTP}
                hosts: ["*"]
              - port: {number: 443, name: https-partners, protocol: HTTPS}
                hosts: [api.example.com]
                tls: {mode: MUTUAL, credentialName: api, subjectAltNames: [alice.partners.example]}
              - port: {number: 8443, name: https-optional, protocol: HTTPS}
                hosts: [api.example.com]
                tls: {mode: OPTIONAL_MUTUAL, credentialName: api}
              - port: {number: 9443, name: https-simple, protocol: HTTPS}
                hosts: [www.example.com]
                tls: {mode: SIMPLE, credentialName: www}
              - port: {number: 10443, name: tls-passthrough, protocol: TLS}
                hosts: [db.example.com]
                tls: {mode: PASSTHROUGH}
              - port: {number: 11443, name: https-mesh, protocol: HTTPS}
                hosts: ["*"]
                tls: {mode: ISTIO_MUTUAL}
              - port: {number: 31400, name: tcp, protocol: TCP}
                hosts: ["*"]
              - port: {number: 15443, name: tls-sni, protocol: TLS}
                hosts: ["*.global"]
                tls: {mode: AUTO_PASSTHROUGH}
              - port: {number: 5432, name: tls-db, protocol: TLS}
                hosts: [db.example.com]
                tls: {mode: SIMPLE, credentialName: db}
              - port: {number: 5433, name: tls-db-mesh, protocol: TLS}
                hosts: [db.example.com]
                tls: {mode: ISTIO_MUTUAL, subjectAltNames: ["spiffe://cluster.local/ns/demo/sa/reporting"]}
            """;

    static DownstreamTlsContext tls(Listener l) {
        return unpack(l.getFilterChains(0).getTransportSocket().getTypedConfig(), DownstreamTlsContext.class);
    }

    @Test
    void mutualAndOptionalMutualVerifyClientCertificatesAgainstTheCredentialsCa() {
        MeshSnapshot s = snapshot(GATEWAY);
        DownstreamTlsContext mutual = tls(listener(GeneratorGoldenTest.router(), s, "0.0.0.0_443"));
        assertTrue(mutual.getRequireClientCertificate().getValue());
        assertEquals("kubernetes://api", mutual.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        var combined = mutual.getCommonTlsContext().getCombinedValidationContext();
        assertEquals("kubernetes://api-cacert", combined.getValidationContextSdsSecretConfig().getName());
        assertEquals(List.of("alice.partners.example"), combined.getDefaultValidationContext().getMatchSubjectAltNamesList()
                .stream().map(m -> m.getExact()).toList(), "the server's subjectAltNames");

        DownstreamTlsContext optional = tls(listener(GeneratorGoldenTest.router(), s, "0.0.0.0_8443"));
        assertFalse(optional.getRequireClientCertificate().getValue());
        assertEquals("kubernetes://api-cacert", optional.getCommonTlsContext().getValidationContextSdsSecretConfig().getName());

        DownstreamTlsContext simple = tls(listener(GeneratorGoldenTest.router(), s, "0.0.0.0_9443"));
        assertFalse(simple.getRequireClientCertificate().getValue());
        assertFalse(simple.getCommonTlsContext().hasValidationContextSdsSecretConfig());
    }

    static final String L4 = SidecarFixtures.services("backends", "demo",
            "[db.demo.svc.cluster.local, mq-a.demo.svc.cluster.local, mq-b.demo.svc.cluster.local]",
            "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.0.5}") + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: edge-l4, namespace: demo}
            spec:
              hosts: [db.example.com, other.example.com]
              gateways: [istio-system/edge]
              tls:
              - match: [{sniHosts: [db.example.com, other.example.com, not-on-the-server.example.com]}]
                route: [{destination: {host: db}}]
              tcp:
              - match: [{port: 31400}]
                route:
                - {destination: {host: mq-a}, weight: 80}
                - {destination: {host: mq-b}, weight: 20}
            """;

    @Test
    void serversNoRouteOrServiceAppliesToGetNoListener() {
        List<String> names = XdsGenerators.generate(Resources.V3.LISTENER_TYPE_URL, GeneratorGoldenTest.router(),
                snapshot(GATEWAY + L4), Set.of()).stream().map(m -> ((Listener) m).getName()).toList();
        assertEquals(List.of("0.0.0.0_443", "0.0.0.0_8080", "0.0.0.0_8443", "0.0.0.0_9443", "0.0.0.0_10443",
                "0.0.0.0_11443", "0.0.0.0_31400"), names, "no listener for the AUTO_PASSTHROUGH server on 15443 (no"
                        + " service under *.global), nor for the TLS servers on 5432 and 5433, which no tcp route is bound to");

        ConfigValidator.Result r = ConfigValidator.validate(YamlDocuments.parse(GATEWAY, "edge.yaml").resources().get(0));
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of(), r.warnings());
    }

    @Test
    void istioMutualTerminatesWithTheGatewaysMeshCertificateAndRequiresOneFromTheMesh() {
        MeshSnapshot s = snapshot(GATEWAY);
        Listener l = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_11443");
        assertEquals(List.of(), l.getFilterChains(0).getFilterChainMatch().getServerNamesList(), "hosts [*]: any SNI");
        DownstreamTlsContext mesh = tls(l);
        assertTrue(mesh.getRequireClientCertificate().getValue());
        assertEquals("default", mesh.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertEquals("ROOTCA", mesh.getCommonTlsContext().getValidationContextSdsSecretConfig().getName());
        assertEquals(List.of("h2", "http/1.1"), mesh.getCommonTlsContext().getAlpnProtocolsList());
        assertEquals("envoy.filters.network.http_connection_manager", l.getFilterChains(0).getFilters(0).getName());
    }

    @Test
    void tlsServersTerminateTlsAndSendTheDecryptedStreamToTheirTcpRoute() {
        MeshSnapshot s = snapshot(GATEWAY + L4 + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: db-tls, namespace: demo}
                spec:
                  hosts: [db.example.com]
                  gateways: [istio-system/edge]
                  tcp:
                  - match: [{port: 5432}, {port: 5433}]
                    route: [{destination: {host: db, port: {number: 5432}}}]
                """);
        Listener simple = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_5432");
        assertEquals(1, simple.getFilterChainsCount(), simple.toString());
        assertEquals(List.of("db.example.com"), simple.getFilterChains(0).getFilterChainMatch().getServerNamesList());
        DownstreamTlsContext tls = tls(simple);
        assertEquals("kubernetes://db", tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertFalse(tls.getRequireClientCertificate().getValue());
        assertEquals(List.of(), tls.getCommonTlsContext().getAlpnProtocolsList(), "no ALPN: not HTTP");
        assertEquals("outbound|5432||db.demo.svc.cluster.local", tcpProxy(simple.getFilterChains(0)).getCluster());

        Listener meshListener = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_5433");
        DownstreamTlsContext mesh = tls(meshListener);
        assertEquals("default", mesh.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        // ISTIO_MUTUAL on a TCP server: istiod's TCP metadata exchange with mesh clients (TCPListenerMx first, ALPN
        // istio-peer-exchange offered first); SIMPLE gets neither.
        assertEquals(List.of("istio-peer-exchange", "h2", "http/1.1"), mesh.getCommonTlsContext().getAlpnProtocolsList());
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.network.tcp_proxy"), meshListener.getFilterChains(0)
                .getFiltersList().stream().map(f -> f.getName()).toList());
        assertEquals(List.of("envoy.filters.network.tcp_proxy"), simple.getFilterChains(0).getFiltersList().stream()
                .map(f -> f.getName()).toList());
        var combined = mesh.getCommonTlsContext().getCombinedValidationContext();
        assertEquals("ROOTCA", combined.getValidationContextSdsSecretConfig().getName());
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/reporting"), combined.getDefaultValidationContext()
                .getMatchSubjectAltNamesList().stream().map(m -> m.getExact()).toList());
        assertTrue(mesh.getRequireClientCertificate().getValue());
    }

    static io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy tcpProxy(
            io.envoyproxy.envoy.config.listener.v3.FilterChain chain) {
        return unpack(chain.getFilters(0).getTypedConfig(),
                io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class);
    }

    @Test
    void passthroughServersRouteTlsBySniAndTcpServersByPortToTheirDestinations() {
        MeshSnapshot s = snapshot(GATEWAY + L4);
        Listener passthrough = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_10443");
        assertEquals(List.of("envoy.filters.listener.tls_inspector"),
                passthrough.getListenerFiltersList().stream().map(f -> f.getName()).toList());
        assertEquals(1, passthrough.getFilterChainsCount(), passthrough.toString());
        // The server takes db.example.com only: the route's other names are not on it.
        assertEquals(List.of("db.example.com"), passthrough.getFilterChains(0).getFilterChainMatch().getServerNamesList());
        assertFalse(passthrough.getFilterChains(0).hasTransportSocket(), "the TLS stream is not terminated");
        assertEquals("outbound|5432||db.demo.svc.cluster.local", tcpProxy(passthrough.getFilterChains(0)).getCluster());

        Listener tcp = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_31400");
        var weighted = tcpProxy(tcp.getFilterChains(0)).getWeightedClusters().getClustersList();
        assertEquals(List.of("outbound|5432||mq-a.demo.svc.cluster.local 80", "outbound|5432||mq-b.demo.svc.cluster.local 20"),
                weighted.stream().map(w -> w.getName() + " " + w.getWeight()).toList());
    }

    @Test
    void anHttpsServerAskingDifferentlyForClientCertificatesOnATakenPortIsLeftOutWithAWarning() {
        String mixed = """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: mixed, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 443, name: https-partners, protocol: HTTPS}
                    hosts: [api.example.com]
                    tls: {mode: MUTUAL, credentialName: api}
                  - port: {number: 443, name: https-public, protocol: HTTPS}
                    hosts: [www.example.com]
                    tls: {mode: SIMPLE, credentialName: www}
                  - port: {number: 443, name: https-partners-2, protocol: HTTPS}
                    hosts: [api2.example.com]
                    tls: {mode: MUTUAL, credentialName: api}
                """;
        Listener l = listener(GeneratorGoldenTest.router(), snapshot(mixed), "0.0.0.0_443");
        assertEquals(List.of(List.of("api.example.com"), List.of("api2.example.com")), l.getFilterChainsList().stream()
                .map(c -> c.getFilterChainMatch().getServerNamesList()).toList(), "the SIMPLE server is left out");
        ConfigValidator.Result r = ConfigValidator.validate(YamlDocuments.parse(mixed, "mixed.yaml").resources().get(0));
        assertTrue(r.valid(), r.reason());
        assertEquals(1, r.warnings().size(), r.warnings().toString());
        assertTrue(r.warnings().get(0).startsWith("spec.servers[1]: port 443 already has a server that asks"
                + " differently for client certificates"), r.warnings().toString());
    }
    @Test
    void lowerCaseProtocolsAreServedAndAServerWithCertificateFilesGetsNoListener() {
        // As Istio's own samples write them: "protocol: tls", and certificates from files rather than a credential.
        String samples = """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: samples, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 10443, name: tls-db, protocol: tls}
                    hosts: [db.example.com]
                    tls: {mode: PASSTHROUGH}
                  - port: {number: 9443, name: https-files, protocol: https}
                    hosts: [files.example.com]
                    tls: {mode: SIMPLE, serverCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem}
                """;
        MeshSnapshot s = snapshot(samples + L4.replace("istio-system/edge", "istio-system/samples"));
        List<String> names = XdsGenerators.generate(Resources.V3.LISTENER_TYPE_URL, GeneratorGoldenTest.router(), s,
                Set.of()).stream().map(m -> ((Listener) m).getName()).toList();
        assertEquals(List.of("0.0.0.0_10443"), names, "the passthrough server, and none for the one with files");
        Listener passthrough = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_10443");
        assertEquals("outbound|5432||db.demo.svc.cluster.local", tcpProxy(passthrough.getFilterChains(0)).getCluster());
    }
}
