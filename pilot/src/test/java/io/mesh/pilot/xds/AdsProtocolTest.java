package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ACK/NACK and removal semantics on the wire, with a hand-driven SotW client. */
class AdsProtocolTest {
    static final String WEB = "web.demo.svc.cluster.local:80";
    static final Duration WAIT = Duration.ofSeconds(5);
    static final Duration QUIET = Duration.ofMillis(500);

    @TempDir
    Path dir;
    PilotHarness harness;
    RawAdsClient client;

    @BeforeEach
    void start() {
        harness = new PilotHarness(dir);
        harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", 9002));
        harness.write("web-vs.yaml", MeshFixtures.canary(50, 50));
        await().atMost(WAIT).until(() -> harness.pilot.snapshot().meshRoutes().containsKey("web.demo.svc.cluster.local"));
        client = new RawAdsClient(harness.pilot.xdsPort(), "raw-1", "grpc").openSotw();
    }

    @AfterEach
    void stop() {
        client.close();
        harness.close();
    }

    @Test
    void listenerIsAnApiListenerNamedHostPort() throws Exception {
        client.request(Resources.V3.LISTENER_TYPE_URL, List.of(WEB), "", "", null);
        DiscoveryResponse r = client.next(WAIT);
        assertNotNull(r, "no LDS response");
        assertEquals(1, r.getResourcesCount());
        Listener l = r.getResources(0).unpack(Listener.class);
        assertEquals(WEB, l.getName());
        assertTrue(l.hasApiListener());
    }

    @Test
    void nackedResponseIsNotResentUntilConfigChanges() throws Exception {
        client.request(Resources.V3.ROUTE_TYPE_URL, List.of(WEB), "", "", null);
        DiscoveryResponse first = client.next(WAIT);
        assertNotNull(first);
        client.request(Resources.V3.ROUTE_TYPE_URL, List.of(WEB), "", first.getNonce(), "rejected on purpose");
        assertNull(client.next(QUIET), "a NACKed response was resent without a config change");
        await().atMost(WAIT).until(() -> harness.metrics.find("pilot_total_xds_rejects").counter() != null
                && harness.metrics.find("pilot_total_xds_rejects").counter().count() == 1.0);
        XdsConnection c = harness.pilot.watcher().connections().iterator().next();
        XdsConnection.TypeStatus rds = c.status().get(0);
        assertEquals("rds", rds.type());
        assertEquals("rejected on purpose", rds.lastNack().message());
        assertEquals(first.getVersionInfo(), rds.lastNack().version());
        assertNull(rds.acked());

        harness.write("web-vs.yaml", MeshFixtures.canary(90, 10));
        DiscoveryResponse after = client.next(WAIT);
        assertNotNull(after, "a config change must reach a client that NACKed");
        assertTrue(!after.getVersionInfo().equals(first.getVersionInfo()));
    }

    @Test
    void edsPushAfterAnAckCarriesOnlyTheChangedAssignments() throws Exception {
        String web = "outbound|80||web.demo.svc.cluster.local";
        String backend = "outbound|80||backend.demo.svc.cluster.local";
        client.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(web, backend), "", "", null);
        DiscoveryResponse first = client.next(WAIT);
        assertEquals(2, first.getResourcesCount());
        client.ack(first, List.of(web, backend));
        harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", 9002, 9003));
        DiscoveryResponse changed = client.next(WAIT);
        assertNotNull(changed);
        assertEquals(1, changed.getResourcesCount(), "only backend's assignment changed");
        assertEquals(backend, changed.getResources(0).unpack(
                io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class).getClusterName());
    }

    @Test
    void removedListenerIsRemovedAtTheClient() throws Exception {
        client.request(Resources.V3.LISTENER_TYPE_URL, List.of(WEB), "", "", null);
        DiscoveryResponse first = client.next(WAIT);
        client.ack(first, List.of(WEB));
        assertNull(client.next(QUIET), "an ACK must not trigger a resend");
        harness.write("services.yaml", MeshFixtures.serviceEntry("backend", "", 9002));
        DiscoveryResponse after = client.next(WAIT);
        assertNotNull(after, "the removal must be sent");
        assertEquals(0, after.getResourcesCount());
    }
}
