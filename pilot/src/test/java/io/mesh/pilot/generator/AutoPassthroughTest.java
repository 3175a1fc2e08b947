package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.config.ConfigValidator;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * AUTO_PASSTHROUGH servers, as on Istio's east-west gateway: the mesh's own SNI ({@code outbound_.PORT_.SUBSET_.HOST},
 * what a sidecar sends with its mTLS) routes the connection, untouched, to the service port and subset it names.
 */
class AutoPassthroughTest {

    static final String EAST_WEST = """
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: cross-network, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 15443, name: tls, protocol: TLS}
                hosts: ["*.local"]
                tls: {mode: AUTO_PASSTHROUGH}
            """;

    static final String MESH = SidecarFixtures.services("reviews", "demo", "[reviews.demo.svc.cluster.local]",
            "[{number: 9080, name: http, protocol: HTTP}, {number: 9090, name: tcp-admin, protocol: TCP}]",
            "{address: 10.0.0.7, labels: {version: v1}}")
            + SidecarFixtures.services("payments", "external", "[api.payments.example]",
                    "[{number: 443, name: tls, protocol: TLS}]", "{address: 192.0.2.10}").replace("MESH_INTERNAL",
                    "MESH_EXTERNAL") + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: demo}
            spec:
              host: reviews.demo.svc.cluster.local
              trafficPolicy:
                loadBalancer: {simple: LEAST_REQUEST}
                tls: {mode: ISTIO_MUTUAL}
              subsets:
              - name: v1
                labels: {version: v1}
            """;

    @Test
    void eachServicePortAndSubsetGetsAChainMatchedByTheMeshSniToTheClusterOfThatName() {
        MeshSnapshot s = snapshot(EAST_WEST + MESH);
        Listener l = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_15443");
        assertEquals("envoy.filters.listener.tls_inspector", l.getListenerFilters(0).getName());
        List<String> names = List.of("outbound_.9080_._.reviews.demo.svc.cluster.local",
                "outbound_.9080_.v1_.reviews.demo.svc.cluster.local", "outbound_.9090_._.reviews.demo.svc.cluster.local",
                "outbound_.9090_.v1_.reviews.demo.svc.cluster.local");
        assertEquals(names, l.getFilterChainsList().stream().map(c -> c.getFilterChainMatch().getServerNames(0)).toList(),
                "every port and subset of the mesh service under *.local; nothing for the MESH_EXTERNAL one");
        for (var chain : l.getFilterChainsList()) {
            assertFalse(chain.hasTransportSocket(), "the client's TLS passes through");
            TcpProxy tcp = unpack(chain.getFilters(chain.getFiltersCount() - 1).getTypedConfig(), TcpProxy.class);
            assertEquals(chain.getFilterChainMatch().getServerNames(0), tcp.getCluster());
        }
    }

    @Test
    void theSniDnatClustersReadTheServicesEndpointsWithTheDestinationRulesPolicyButNoTlsOfTheirOwn() {
        MeshSnapshot s = snapshot(EAST_WEST + MESH);
        Cluster c = cluster(GeneratorGoldenTest.router(), s, "outbound_.9080_.v1_.reviews.demo.svc.cluster.local");
        assertEquals(Cluster.DiscoveryType.EDS, c.getType());
        assertEquals("outbound|9080|v1|reviews.demo.svc.cluster.local", c.getEdsClusterConfig().getServiceName(),
                "the same EDS assignment as the ordinary subset cluster");
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, c.getLbPolicy());
        assertFalse(c.hasTransportSocket(), "ISTIO_MUTUAL in the DestinationRule is the client's; the gateway adds none");
        assertTrue(cluster(GeneratorGoldenTest.router(), s, "outbound|9080|v1|reviews.demo.svc.cluster.local")
                .hasTransportSocket(), "the ordinary cluster keeps its TLS");
    }

    @Test
    void aDotNamespaceHostTakesTheServicesOfTheGatewaysOwnNamespaceOnly() {
        String gateway = EAST_WEST.replace("hosts: [\"*.local\"]", "hosts: [\"./*.local\"]");
        MeshSnapshot s = snapshot(gateway + MESH + SidecarFixtures.services("ratings", "istio-system",
                "[ratings.istio-system.svc.cluster.local]", "[{number: 9080, name: http, protocol: HTTP}]",
                "{address: 10.0.0.8}"));
        assertEquals(List.of(), s.warnings());
        Listener l = listener(GeneratorGoldenTest.router(), s, "0.0.0.0_15443");
        List<String> names = l.getFilterChainsList().stream().map(c -> c.getFilterChainMatch().getServerNames(0)).toList();
        assertEquals(List.of("outbound_.9080_._.ratings.istio-system.svc.cluster.local"), names,
                "./ is the Gateway's namespace (istio-system): not demo's reviews");
    }

    @Test
    void aRouterWithoutAnAutoPassthroughServerGetsNoSniDnatClusters() {
        MeshSnapshot s = snapshot(SidecarFixtures.PUBLIC_GATEWAY + MESH);
        List<String> names = XdsGenerators.generate(Resources.V3.CLUSTER_TYPE_URL, GeneratorGoldenTest.router(), s, Set.of())
                .stream().map(m -> ((Cluster) m).getName()).toList();
        assertTrue(names.contains("outbound|9080||reviews.demo.svc.cluster.local"), names.toString());
        assertTrue(names.stream().noneMatch(n -> n.startsWith("outbound_.")), names.toString());
    }

    @Test
    void anHttpsServerInAutoPassthroughModeGetsTheSameSniChainsAsATlsOneAsIstiodGivesIt() {
        // istiod: an HTTPS server in a passthrough mode is no HTTP server (pkg/config/gateway/gateway.go IsHTTPServer),
        // and AUTO_PASSTHROUGH builds the SNI-DNAT chains whatever the protocol (pilot/pkg/networking/core/gateway.go
        // buildGatewayNetworkFiltersFromTLSRoutes).
        String https = EAST_WEST.replace("protocol: TLS", "protocol: HTTPS");
        ConfigValidator.Result r = ConfigValidator.validate(YamlDocuments.parse(https, "ew.yaml").resources().get(0));
        assertTrue(r.valid(), r.reason());
        assertEquals(List.of(), r.warnings());
        Listener asHttps = listener(GeneratorGoldenTest.router(), snapshot(https + MESH), "0.0.0.0_15443");
        Listener asTls = listener(GeneratorGoldenTest.router(), snapshot(EAST_WEST + MESH), "0.0.0.0_15443");
        assertEquals(asTls, asHttps, "no HTTP connection manager: the TLS stream passes through by its SNI");
        assertTrue(cluster(GeneratorGoldenTest.router(), snapshot(https + MESH),
                "outbound_.9080_.v1_.reviews.demo.svc.cluster.local").hasEdsClusterConfig(), "and its SNI-DNAT clusters");
    }
}
