package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.model.ExtAuthzProviders;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A CUSTOM AuthorizationPolicy on the ingress gateway, its envoyExtAuthzHttp provider in the mesh settings, through
 * pilot's whole pipeline (local folder, snapshot, ADS): the router's LDS carries the ext_authz filter to the provider's
 * cluster, and its CDS carries that cluster.
 */
class ExtAuthzPushTest {
    @TempDir
    Path dir;

    @Test
    void theRouterGetsExtAuthzInLdsAndTheProvidersClusterInCds() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.pilot.withMesh(MeshSettings.DEFAULT.withExtAuthzProviders(ExtAuthzProviders.parse(
                    "[{name: edge-authz, envoyExtAuthzHttp: {service: ext-authz.foo.svc.cluster.local, port: 8000,"
                            + " failOpen: true}}]")));
            harness.write("gateway.yaml", Files.readString(Path.of("src/test/resources/generator/gateway.yaml")) + """
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata: {name: ext-authz, namespace: foo}
                    spec:
                      hosts: [ext-authz.foo.svc.cluster.local]
                      location: MESH_INTERNAL
                      ports: [{number: 8000, name: http, protocol: HTTP}]
                      resolution: STATIC
                      endpoints: [{address: 10.0.5.5}]
                    ---
                    apiVersion: security.istio.io/v1
                    kind: AuthorizationPolicy
                    metadata: {name: edge, namespace: istio-system}
                    spec:
                      selector: {matchLabels: {istio: ingressgateway}}
                      action: CUSTOM
                      provider: {name: edge-authz}
                      rules: [{to: [{operation: {paths: [/private/*]}}]}]
                    """);
            await().atMost(Duration.ofSeconds(10)).until(() -> !harness.pilot.snapshot().authorizationPolicies().isEmpty());
            String cluster = "outbound|8000||ext-authz.foo.svc.cluster.local";
            try (RawAdsClient router = JwksPushTest.ingressRouter(harness)) {
                DiscoveryResponse lds = router.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of());
                Listener l = lds.getResourcesList().stream().map(a -> unpack(a, Listener.class))
                        .filter(x -> x.getName().equals("0.0.0.0_8080")).findFirst().orElseThrow();
                List<HttpFilter> filters = unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(),
                        HttpConnectionManager.class).getHttpFiltersList();
                HttpFilter ext = filters.stream().filter(f -> f.getName().equals("envoy.filters.http.ext_authz"))
                        .findFirst().orElseThrow(() -> new AssertionError(filters.toString()));
                ExtAuthz config = unpack(ext.getTypedConfig(), ExtAuthz.class);
                assertEquals(cluster, config.getHttpService().getServerUri().getCluster());
                assertTrue(config.getFailureModeAllow());

                router.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
                DiscoveryResponse cds = router.nextOf(Resources.V3.CLUSTER_TYPE_URL, List.of());
                assertTrue(cds.getResourcesList().stream().map(a -> unpack(a, Cluster.class).getName())
                        .anyMatch(cluster::equals), cds.getResourcesList().toString());
            }
        }
    }

    static <T extends com.google.protobuf.Message> T unpack(com.google.protobuf.Any any, Class<T> type) {
        try {
            return any.unpack(type);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
