package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.AutoMtlsTest.MESH_A;
import static io.mesh.pilot.generator.AutoMtlsTest.PLAIN;
import static io.mesh.pilot.generator.AutoMtlsTest.backend;
import static io.mesh.pilot.generator.AutoMtlsTest.tls;
import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.grpc;
import static io.mesh.pilot.generator.SidecarFixtures.router;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.xds.type.v3.TypedStruct;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Istio's metadata exchange over TCP on the cluster side, as istiod configures it: every outbound cluster of a
 * sidecar or a router (and a sidecar's PassthroughCluster) carries the {@code istio.metadata_exchange} upstream filter
 * (istiod's TCPClusterMx), and ISTIO_MUTUAL offers ALPN {@code istio-peer-exchange} first, then {@code istio}
 * (ALPNInMeshWithMxc). Inbound clusters, the BlackHoleCluster and proxyless gRPC clients get none. (The inbound
 * chains' side: {@code SidecarInboundTest}.)
 */
class TcpMetadataExchangeTest {
    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");
    static final String CLUSTER = "outbound|80||backend.demo.svc.cluster.local";

    static void exchanges(Cluster c) {
        assertEquals(1, c.getFiltersCount(), c.getName() + " filters");
        assertEquals("istio.metadata_exchange", c.getFilters(0).getName());
        TypedStruct mx = unpack(c.getFilters(0).getTypedConfig(), TypedStruct.class);
        assertEquals("type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange", mx.getTypeUrl());
        assertEquals("istio-peer-exchange", mx.getValue().getFieldsOrThrow("protocol").getStringValue());
        assertTrue(mx.getValue().getFieldsOrThrow("enable_discovery").getBoolValue());
    }

    @Test
    void aMeshClusterOffersThePeerExchangeFirstAndCarriesTheFilter() {
        Cluster c = cluster(POD, snapshot(backend(MESH_A)), CLUSTER);
        exchanges(c);
        assertEquals(List.of("istio-peer-exchange", "istio"), tls(c).getCommonTlsContext().getAlpnProtocolsList());
    }

    @Test
    void aPlaintextClusterCarriesTheFilterToo() {
        // As istiod: the filter is on every outbound cluster; without TLS no ALPN can pick the exchange, so it stays idle.
        Cluster c = cluster(POD, snapshot(backend(PLAIN)), CLUSTER);
        exchanges(c);
        assertTrue(!c.hasTransportSocket());
    }

    @Test
    void subsetsPassthroughAndRoutersCarryItButNotInboundBlackHoleOrGrpc() {
        MeshSnapshot s = snapshot(backend(MESH_A) + """
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: backend, namespace: demo}
                spec:
                  host: backend.demo.svc.cluster.local
                  subsets: [{name: v1, labels: {version: v1}}]
                """);
        exchanges(cluster(POD, s, "outbound|80|v1|backend.demo.svc.cluster.local"));
        exchanges(cluster(POD, s, "PassthroughCluster"));
        exchanges(cluster(router(), s, CLUSTER));
        assertEquals(0, cluster(POD, s, "BlackHoleCluster").getFiltersCount());
        assertEquals(0, cluster(grpc(), s, CLUSTER).getFiltersCount(), "proxyless gRPC: no Envoy filters");
        assertEquals(0, cluster(sidecar("10.0.0.2", "demo"), s, "inbound|80||").getFiltersCount(), "inbound");
    }
}
