package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.config.TrafficDistribution;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode: a ServiceEntry in the config folder with istiod's {@code networking.istio.io/traffic-distribution}
 * annotation gives a sidecar its own zone's endpoints first; taking the annotation off gives the plain assignment.
 */
class LocalFolderTrafficDistributionTest {
    static final String CLUSTER = "outbound|80||web.demo.svc.cluster.local";

    @TempDir
    Path dir;

    static String entry(String annotations) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: web
                  namespace: demo
                  annotations: {%s}
                spec:
                  hosts: [web.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: STATIC
                  endpoints:
                  - {address: 10.0.0.1, locality: us-east/zone-a}
                  - {address: 10.0.0.2, locality: us-east/zone-b}
                  - {address: 10.0.0.3, locality: eu-west/zone-c}
                """.formatted(annotations);
    }

    @Test
    void anAnnotatedServiceEntryPutsTheSidecarsZoneFirstUntilTheAnnotationGoes() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("web.yaml", entry("networking.istio.io/traffic-distribution: PreferSameZone"));
            await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().services()
                    .containsKey("web.demo.svc.cluster.local"));
            assertEquals(TrafficDistribution.PREFER_SAME_ZONE,
                    harness.pilot.snapshot().services().get("web.demo.svc.cluster.local").trafficDistribution());
            RawAdsClient c = new RawAdsClient(harness.pilot.xdsPort(),
                    "sidecar~10.1.0.1~client-1.demo~demo.svc.cluster.local", null);
            c.node = c.node.toBuilder().setLocality(Locality.newBuilder().setRegion("us-east").setZone("zone-b"))
                    .build();
            try (RawAdsClient sidecar = c.openSotw()) {
                sidecar.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(CLUSTER), "", "", null);
                assertEquals(Map.of("10.0.0.1", 1, "10.0.0.2", 0, "10.0.0.3", 2), priorities(next(sidecar)));

                harness.write("web.yaml", entry(""));
                Map<String, Integer> flat = Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 0);
                await().atMost(Duration.ofSeconds(10)).until(() -> flat.equals(priorities(next(sidecar))));
            }
        }
    }

    /** The next EDS response (ACKed), skipping others on the stream. */
    private static DiscoveryResponse next(RawAdsClient c) throws Exception {
        return c.nextOf(Resources.V3.ENDPOINT_TYPE_URL, List.of(CLUSTER));
    }

    /** The cluster's endpoints, "IP" -> priority. */
    private static Map<String, Integer> priorities(DiscoveryResponse eds) throws Exception {
        Map<String, Integer> out = new TreeMap<>();
        for (var any : eds.getResourcesList()) {
            ClusterLoadAssignment cla = any.unpack(ClusterLoadAssignment.class);
            for (LocalityLbEndpoints l : cla.getEndpointsList()) {
                for (var e : l.getLbEndpointsList()) {
                    out.put(e.getEndpoint().getAddress().getSocketAddress().getAddress(), l.getPriority());
                }
            }
        }
        return out;
    }
}
