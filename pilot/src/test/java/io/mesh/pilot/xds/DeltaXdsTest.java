package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Delta xDS with a small client on the Envoy api stubs: only changes travel, removals as removed_resources. */
class DeltaXdsTest {
    static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
    static final String WEB = "outbound|80||web.demo.svc.cluster.local";
    static final String BACKEND = "outbound|80||backend.demo.svc.cluster.local";
    static final Duration WAIT = Duration.ofSeconds(5);

    @TempDir
    Path dir;
    PilotHarness harness;
    RawAdsClient client;

    @BeforeEach
    void start() {
        harness = new PilotHarness(dir);
        harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", 9002));
        await().atMost(WAIT).until(() -> harness.pilot.snapshot().services().size() == 2);
        client = new RawAdsClient(harness.pilot.xdsPort(), "sidecar~10.0.0.9~app-1.demo~demo.svc.cluster.local",
                null).openDelta();
    }

    @AfterEach
    void stop() {
        client.close();
        harness.close();
    }

    private void ack(DeltaDiscoveryResponse r) {
        client.deltaRequest(DeltaDiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl())
                .setResponseNonce(r.getNonce()).build());
    }

    private static Set<String> names(DeltaDiscoveryResponse r) {
        return r.getResourcesList().stream().map(Resource::getName).collect(Collectors.toSet());
    }

    @Test
    void afterAChangeOnlyChangedResourcesAreSentAndRemovalsArriveAsRemovedResources() throws Exception {
        // The node travels on the first request only, as delta clients may do.
        client.deltaRequest(DeltaDiscoveryRequest.newBuilder().setNode(client.node).setTypeUrl(CDS).build());
        DeltaDiscoveryResponse first = client.nextDelta(WAIT);
        assertNotNull(first);
        assertEquals(Set.of(WEB, BACKEND, "PassthroughCluster", "BlackHoleCluster"), names(first));
        ack(first);
        assertNull(client.nextDelta(Duration.ofMillis(500)), "an ACK must not trigger a resend");

        harness.write("backend-dr.yaml", """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: backend, namespace: demo}
                spec:
                  host: backend
                  trafficPolicy:
                    loadBalancer: {simple: LEAST_REQUEST}
                """);
        DeltaDiscoveryResponse changed = client.nextDelta(WAIT);
        assertNotNull(changed);
        assertEquals(Set.of(BACKEND), names(changed), "only the changed cluster");
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST,
                changed.getResources(0).getResource().unpack(Cluster.class).getLbPolicy());
        assertTrue(changed.getRemovedResourcesList().isEmpty());
        ack(changed);

        harness.write("services.yaml", MeshFixtures.serviceEntry("backend", "", 9002));
        DeltaDiscoveryResponse removed = client.nextDelta(WAIT);
        assertNotNull(removed);
        assertEquals(0, removed.getResourcesCount());
        assertEquals(java.util.List.of(WEB), removed.getRemovedResourcesList());
    }

    @Test
    void aNackedDeltaResponseIsNotResent() throws Exception {
        client.deltaRequest(DeltaDiscoveryRequest.newBuilder().setNode(client.node).setTypeUrl(CDS).build());
        DeltaDiscoveryResponse first = client.nextDelta(WAIT);
        assertNotNull(first);
        client.deltaRequest(DeltaDiscoveryRequest.newBuilder().setTypeUrl(CDS).setResponseNonce(first.getNonce())
                .setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage("no thanks")).build());
        assertNull(client.nextDelta(Duration.ofMillis(700)), "a NACKed delta response was resent");
        await().atMost(WAIT).until(() -> harness.metrics.find("pilot_total_xds_rejects").counter() != null);
    }
}
