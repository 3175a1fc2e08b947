package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.config.ConfigValidator;
import io.mesh.config.PolicyConfig;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ALLOW_ANY / REGISTRY_ONLY: the catch-all virtual host of sidecar RDS and virtualOutbound's default chain. */
class OutboundTrafficPolicyTest {
    /** backend.demo with one endpoint, the fixture AutoMtlsTest builds. */
    static final String BACKEND = AutoMtlsTest.backend("{address: 10.0.0.2}");
    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");
    static final MeshSettings REGISTRY_ONLY = new MeshSettings("cluster.local",
            PolicyConfig.OutboundTrafficPolicy.REGISTRY_ONLY);

    static VirtualHost last(RouteConfiguration rc) {
        return rc.getVirtualHosts(rc.getVirtualHostsCount() - 1);
    }

    static String tcpCluster(MeshSnapshot s) {
        return unpack(listener(POD, s, "virtualOutbound").getFilterChains(0).getFilters(0).getTypedConfig(),
                TcpProxy.class).getCluster();
    }

    @Test
    void allowAnyIsTheDefault() {
        MeshSnapshot s = snapshot(BACKEND);
        RouteConfiguration rc = routes(POD, s, "80");
        assertEquals(List.of("backend.demo.svc.cluster.local:80", "allow_any"),
                rc.getVirtualHostsList().stream().map(VirtualHost::getName).toList());
        VirtualHost any = last(rc);
        assertEquals(List.of("*"), any.getDomainsList());
        Route r = any.getRoutes(0);
        assertEquals("/", r.getMatch().getPrefix());
        assertEquals("PassthroughCluster", r.getRoute().getCluster());
        assertEquals("PassthroughCluster", tcpCluster(s));
    }

    @Test
    void registryOnlyAnswers502AndSendsTcpToTheBlackHole() {
        MeshSnapshot s = snapshot(BACKEND, REGISTRY_ONLY);
        VirtualHost block = last(routes(POD, s, "80"));
        assertEquals("block_all", block.getName());
        assertEquals(List.of("*"), block.getDomainsList());
        assertEquals("/", block.getRoutes(0).getMatch().getPrefix());
        assertTrue(block.getRoutes(0).hasDirectResponse());
        assertEquals(502, block.getRoutes(0).getDirectResponse().getStatus());
        assertFalse(block.getRoutes(0).hasRoute());
        assertEquals("BlackHoleCluster", tcpCluster(s));
    }

    @Test
    void theProxysSidecarResourceOverridesTheMeshDefault() {
        String sidecarRegistryOnly = BACKEND + """
                ---
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: demo}
                spec:
                  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
                """;
        MeshSnapshot s = snapshot(sidecarRegistryOnly);
        assertEquals("block_all", last(routes(POD, s, "80")).getName());
        // A Sidecar without egress hosts limits nothing.
        assertEquals("backend.demo.svc.cluster.local:80", routes(POD, s, "80").getVirtualHosts(0).getName());
        // Other namespaces keep the mesh default.
        assertEquals("allow_any", last(routes(sidecar("10.1.0.1", "other"), s, "80")).getName());

        MeshSnapshot allow = snapshot(BACKEND + """
                ---
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: demo}
                spec:
                  outboundTrafficPolicy: {mode: ALLOW_ANY}
                """, REGISTRY_ONLY);
        assertEquals("allow_any", last(routes(POD, allow, "80")).getName());
        assertEquals("PassthroughCluster", tcpCluster(allow));
    }

    @Test
    void anUnknownModeIsRejectedWithTheField() {
        RawResource raw = YamlDocuments.parse("""
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: demo}
                spec:
                  outboundTrafficPolicy: {mode: ALLOW_SOME}
                """, "t.yaml").resources().get(0);
        assertEquals(List.of("spec.outboundTrafficPolicy.mode: unknown mode \"ALLOW_SOME\" (use ALLOW_ANY or "
                + "REGISTRY_ONLY)"), ConfigValidator.validate(raw).errors());
    }

    @Test
    void passthroughIsOriginalDstAndBlackHoleIsStaticWithoutEndpoints() {
        MeshSnapshot s = snapshot(BACKEND);
        Cluster pass = cluster(POD, s, "PassthroughCluster");
        assertEquals(Cluster.DiscoveryType.ORIGINAL_DST, pass.getType());
        assertEquals(Cluster.LbPolicy.CLUSTER_PROVIDED, pass.getLbPolicy());
        Cluster hole = cluster(POD, s, "BlackHoleCluster");
        assertEquals(Cluster.DiscoveryType.STATIC, hole.getType());
        assertEquals(0, hole.getLoadAssignment().getEndpointsCount());
    }

    @Test
    void routersAndProxylessClientsGetNoCatchAll() {
        MeshSnapshot s = snapshot(BACKEND);
        assertTrue(XdsGenerators.generate(io.envoyproxy.controlplane.cache.Resources.V3.CLUSTER_TYPE_URL,
                SidecarFixtures.router(), s, java.util.Set.of()).stream()
                .noneMatch(c -> ((Cluster) c).getName().equals("BlackHoleCluster")));
        RouteConfiguration grpc = routes(SidecarFixtures.grpc(), s, "backend.demo.svc.cluster.local:80");
        assertTrue(grpc.getVirtualHostsList().stream().noneMatch(v -> v.getName().equals("allow_any")));
    }
}
