package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.HTTP_80;
import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.grpc;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.services;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The {@code istio.config} metadata istiod writes on what a resource configures (routes: the VirtualService; clusters:
 * the DestinationRule), in its path form {@code /apis/networking.istio.io/v1/namespaces/NS/KIND/NAME}, the one
 * {@code istioctl proxy-config} and {@code istioctl x describe} read to name the resource.
 */
class ConfigMetadataTest {
    static final MeshSnapshot MESH = snapshot(
            services("reviews", "demo", "[reviews.demo.svc.cluster.local]", HTTP_80, "{address: 10.0.0.2, labels: {version: v1}}")
            + services("ratings", "demo", "[ratings.demo.svc.cluster.local]", HTTP_80, "{address: 10.0.0.3}")
            + """
            ---
            apiVersion: networking.istio.io/v1beta1
            kind: VirtualService
            metadata: {name: reviews-route, namespace: demo}
            spec:
              hosts: [reviews.demo.svc.cluster.local]
              http:
              - match: [{uri: {prefix: /v1}}]
                route: [{destination: {host: reviews.demo.svc.cluster.local, subset: v1}}]
              - route: [{destination: {host: reviews.demo.svc.cluster.local}}]
            ---
            apiVersion: networking.istio.io/v1alpha3
            kind: DestinationRule
            metadata: {name: reviews-subsets, namespace: istio-system}
            spec:
              host: reviews.demo.svc.cluster.local
              subsets: [{name: v1, labels: {version: v1}}]
            """);
    static final ProxyInfo CLIENT = sidecar("10.0.0.9", "demo");

    static String config(Metadata m) {
        return m.getFilterMetadataOrThrow("istio").getFieldsOrThrow("config").getStringValue();
    }

    @Test
    void eachRouteOfAVirtualServiceNamesItInIstiodsPathForm() {
        VirtualHost vh = routes(CLIENT, MESH, "80").getVirtualHostsList().stream()
                .filter(v -> v.getName().equals("reviews.demo.svc.cluster.local:80")).findFirst().orElseThrow();
        assertEquals(2, vh.getRoutesCount());
        for (Route r : vh.getRoutesList()) {
            assertEquals("/apis/networking.istio.io/v1/namespaces/demo/virtual-service/reviews-route", config(r.getMetadata()),
                    "whatever version it was written in, istiod reads it as v1: " + r);
        }
        VirtualHost ratings = routes(CLIENT, MESH, "80").getVirtualHostsList().stream()
                .filter(v -> v.getName().equals("ratings.demo.svc.cluster.local:80")).findFirst().orElseThrow();
        assertFalse(ratings.getRoutes(0).hasMetadata(), "a service's default route comes from no VirtualService");
    }

    @Test
    void aClusterTheDestinationRuleConfiguresNamesItBesideItsTelemetryServices() {
        for (String name : List.of("outbound|80||reviews.demo.svc.cluster.local", "outbound|80|v1|reviews.demo.svc.cluster.local")) {
            var c = cluster(CLIENT, MESH, name);
            assertEquals("/apis/networking.istio.io/v1/namespaces/istio-system/destination-rule/reviews-subsets",
                    config(c.getMetadata()), name);
            assertEquals(1, ClusterTelemetryMetadataTest.telemetryServices(c).size(), "the telemetry metadata stays: " + c);
        }
        var ratings = cluster(CLIENT, MESH, "outbound|80||ratings.demo.svc.cluster.local");
        assertFalse(ratings.getMetadata().getFilterMetadataOrThrow("istio").containsFields("config"), ratings.toString());
    }

    @Test
    void proxylessGrpcClientsGetNone() {
        assertFalse(cluster(grpc(), MESH, "outbound|80||reviews.demo.svc.cluster.local").hasMetadata());
        for (VirtualHost vh : routes(grpc(), MESH, "reviews.demo.svc.cluster.local:80").getVirtualHostsList()) {
            vh.getRoutesList().forEach(r -> assertFalse(r.hasMetadata(), r.toString()));
        }
    }
}
