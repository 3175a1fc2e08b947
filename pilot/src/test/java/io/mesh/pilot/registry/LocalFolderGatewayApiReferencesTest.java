package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode, through a router's ADS stream: the folder's Namespace documents are the namespaces a listener's selector
 * selects (an edit of their labels attaches or detaches a route, RDS), its ReferenceGrants permit cross-namespace
 * backendRefs (CDS and RDS name the backend's cluster), and a certificateRef's Secret of namespace NS is
 * {@code credentials/NS/NAME.crt}, named in LDS and served over SDS as {@code kubernetes-gateway://NS/NAME}.
 */
class LocalFolderGatewayApiReferencesTest {
    @TempDir
    Path dir;

    static final String CONFIG = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: api, namespace: backends}
            spec:
              hosts: [api.backends.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 80, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 127.0.0.1, ports: {http: 9081}}]
            ---
            """ + LocalFolderGatewayApiTest.INGRESS_ENTRY + """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: edge}
            spec:
              gatewayClassName: istio
              addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
              listeners:
              - name: http
                port: 80
                protocol: HTTP
                allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {shared-gateway: "true"}}}}
              - name: https
                port: 443
                protocol: HTTPS
                tls: {certificateRefs: [{name: edge-cert}]}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: web, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: edge, sectionName: http}]
              hostnames: [localhost]
              rules: [{backendRefs: [{name: api, namespace: backends, port: 80}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1beta1
            kind: ReferenceGrant
            metadata: {name: from-demo, namespace: backends}
            spec:
              from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}]
              to: [{group: "", kind: Service}]
            """;

    static String namespace(String labels) {
        return """
                apiVersion: v1
                kind: Namespace
                metadata: {name: demo, labels: %s}
                """.formatted(labels);
    }

    @Test
    void namespaceDocumentsGrantsAndNamespacedCredentialsOfTheFolderAreServed() throws Exception {
        Files.createDirectories(dir.resolve("credentials/edge"));
        Files.writeString(dir.resolve("credentials/edge/edge-cert.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n");
        Files.writeString(dir.resolve("credentials/edge/edge-cert.key"), "-----BEGIN PRIVATE KEY-----\nBBBB\n");
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("namespace.yaml", namespace("{shared-gateway: \"true\"}"));
            harness.write("config.yaml", CONFIG);
            await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().virtualServices().stream()
                    .anyMatch(vs -> vs.hosts().equals(List.of("localhost"))));
            Struct labels = Struct.newBuilder().putFields("istio",
                    Value.newBuilder().setStringValue("ingressgateway").build()).build();
            try (RawAdsClient router = new RawAdsClient(harness.pilot.xdsPort(),
                    "router~127.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
                router.openSotwWithLabels(labels);
                String name = "kubernetes-gateway://edge/edge-cert";
                router.request(Resources.V3.SECRET_TYPE_URL, List.of(name), "", "", null);
                DiscoveryResponse sds = router.nextOf(Resources.V3.SECRET_TYPE_URL, List.of(name));
                assertEquals(1, sds.getResourcesCount(), sds.toString());
                assertEquals("-----BEGIN CERTIFICATE-----\nAAAA\n", sds.getResources(0).unpack(Secret.class)
                        .getTlsCertificate().getCertificateChain().getInlineBytes().toStringUtf8());

                // LDS: the HTTPS listener terminates with that credential; CDS: the granted backend's cluster.
                router.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
                DiscoveryResponse lds = router.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of());
                Listener https = null;
                for (com.google.protobuf.Any a : lds.getResourcesList()) {
                    Listener l = a.unpack(Listener.class);
                    https = l.getName().equals("0.0.0.0_443") ? l : https;
                }
                assertEquals(name, https.getFilterChains(0).getTransportSocket().getTypedConfig()
                        .unpack(DownstreamTlsContext.class).getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0)
                        .getName());
                router.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
                DiscoveryResponse cds = router.nextOf(Resources.V3.CLUSTER_TYPE_URL, List.of());
                List<String> clusters = new java.util.ArrayList<>();
                for (com.google.protobuf.Any a : cds.getResourcesList()) {
                    clusters.add(a.unpack(Cluster.class).getName());
                }
                assertTrue(clusters.contains("outbound|80||api.backends.svc.cluster.local"), clusters.toString());

                router.request(Resources.V3.ROUTE_TYPE_URL, List.of("http.80"), "", "", null);
                assertEquals("outbound|80||api.backends.svc.cluster.local", cluster(router),
                        "the grant in the folder permits the backend");

                harness.write("namespace.yaml", namespace("{shared-gateway: \"false\"}"));
                await().atMost(Duration.ofSeconds(10)).until(() -> cluster(router) == null);
                harness.write("namespace.yaml", namespace("{shared-gateway: \"true\"}"));
                await().atMost(Duration.ofSeconds(10)).until(() -> "outbound|80||api.backends.svc.cluster.local"
                        .equals(cluster(router)));
            }
        }
    }

    /** The cluster of the route of "localhost" in the next RDS response, or null when no virtual host has it. */
    private static String cluster(RawAdsClient router) throws Exception {
        RouteConfiguration rc = router.nextOf(Resources.V3.ROUTE_TYPE_URL, List.of("http.80")).getResources(0)
                .unpack(RouteConfiguration.class);
        return rc.getVirtualHostsList().stream().filter(v -> v.getDomainsList().contains("localhost"))
                .findFirst().map(v -> v.getRoutes(0).getRoute().getCluster()).orElse(null);
    }
}
