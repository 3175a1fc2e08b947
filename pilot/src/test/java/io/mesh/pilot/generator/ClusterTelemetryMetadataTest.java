package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.grpc;
import static io.mesh.pilot.generator.SidecarFixtures.services;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * istiod's telemetry metadata on clusters ({@code istio.services}), which Istio's stats filter reads for
 * {@code destination_service}: an outbound cluster names its service, an inbound cluster every service the workload
 * serves on that port.
 */
class ClusterTelemetryMetadataTest {
    /** web and web-admin both have 10.0.0.1 as an endpoint; web's port 80 and web-admin's 8080 both go to 8081. */
    static final MeshSnapshot MESH = snapshot(
            services("web", "demo", "[web.demo.svc.cluster.local]",
                    "[{number: 80, name: http, protocol: HTTP}, {number: 9000, name: tcp-db, protocol: TCP}]",
                    "{address: 10.0.0.1, ports: {http: 8081, tcp-db: 9091}}")
            + services("web-admin", "ops", "[admin.ops.svc.cluster.local]", "[{number: 8080, name: http, protocol: HTTP}]",
                    "{address: 10.0.0.1, ports: {http: 8081}}")
            + services("other", "demo", "[other.demo.svc.cluster.local]", "[{number: 80, name: http, protocol: HTTP}]",
                    "{address: 10.0.0.2, ports: {http: 8081}}"));
    static final ProxyInfo WEB_POD = sidecar("10.0.0.1", "demo");

    /** host -> "name/namespace" of each entry of the cluster's istio.services, in order. */
    static List<String> telemetryServices(Cluster c) {
        Value list = c.getMetadata().getFilterMetadataOrThrow("istio").getFieldsOrThrow("services");
        return list.getListValue().getValuesList().stream().map(v -> {
            Map<String, Value> f = v.getStructValue().getFieldsMap();
            return f.get("host").getStringValue() + " " + f.get("name").getStringValue() + "/"
                    + f.get("namespace").getStringValue();
        }).collect(Collectors.toList());
    }

    @Test
    void anInboundClusterNamesEveryServiceTheWorkloadServesOnThatPort() {
        assertEquals(List.of("admin.ops.svc.cluster.local admin.ops.svc.cluster.local/ops",
                "web.demo.svc.cluster.local web.demo.svc.cluster.local/demo"),
                telemetryServices(cluster(WEB_POD, MESH, "inbound|8081||")));
        // A TCP port the workload serves for one service only: that service, so its TCP metrics name it.
        assertEquals(List.of("web.demo.svc.cluster.local web.demo.svc.cluster.local/demo"),
                telemetryServices(cluster(WEB_POD, MESH, "inbound|9091||")));
    }

    @Test
    void anOutboundClusterNamesItsOwnService() {
        assertEquals(List.of("other.demo.svc.cluster.local other.demo.svc.cluster.local/demo"),
                telemetryServices(cluster(WEB_POD, MESH, "outbound|80||other.demo.svc.cluster.local")));
        assertEquals(List.of("web.demo.svc.cluster.local web.demo.svc.cluster.local/demo"),
                telemetryServices(cluster(WEB_POD, MESH, "outbound|9000||web.demo.svc.cluster.local")));
    }

    @Test
    void aKubernetesServiceIsNamedByItsOwnNameAndALocalServiceByItsHostsFirstLabel() {
        var k8s = new io.mesh.pilot.model.ServiceModel("reviews.bookinfo.svc.cluster.local", "bookinfo", List.of(), false,
                "Service/bookinfo/reviews", List.of(), List.of());
        var local = new io.mesh.pilot.model.ServiceModel("web.demo.svc.cluster.local", "demo", List.of(), false,
                "services.yaml", List.of(), List.of());
        assertEquals("reviews", TelemetryMetadata.name(k8s));
        assertEquals("web", TelemetryMetadata.name(local));
    }

    @Test
    void proxylessGrpcClientsGetNoTelemetryMetadata() {
        Cluster c = cluster(grpc(), MESH, "outbound|80||other.demo.svc.cluster.local");
        assertFalse(c.getMetadata().containsFilterMetadata("istio"), c.toString());
    }
}
