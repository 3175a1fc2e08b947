package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.debug.DebugRoutes;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A proxy that reconnects (to a restarted pilot, or after a network blip) opens a new stream whose first request
 * carries the version it already holds. pilot answers that request, as istiod does, so the proxy knows it is in sync
 * and pilot's /debug/syncz shows it SYNCED; the ACK that follows is not answered again.
 */
class ReconnectTest {
    static final String SIDECAR = "sidecar~10.0.0.9~app-1.demo~demo.svc.cluster.local";

    @TempDir
    Path dir;

    @Test
    void theFirstRequestOfANewStreamIsAnsweredEvenWithTheVersionTheProxyHolds() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001));
            await().atMost(Duration.ofSeconds(5)).until(() -> !harness.pilot.snapshot().services().isEmpty());
            String held;
            try (RawAdsClient first = new RawAdsClient(harness.pilot.xdsPort(), SIDECAR, null).openSotw()) {
                first.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
                DiscoveryResponse r = first.next(Duration.ofSeconds(5));
                assertNotNull(r);
                held = r.getVersionInfo();
            }
            try (RawAdsClient again = new RawAdsClient(harness.pilot.xdsPort(), SIDECAR, null).openSotw()) {
                again.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), held, "", null);
                DiscoveryResponse r = again.next(Duration.ofSeconds(5));
                assertNotNull(r, "the reconnected stream's first request is answered");
                assertEquals(held, r.getVersionInfo(), "with the same config");
                again.ack(r, List.of());
                await().atMost(Duration.ofSeconds(5)).until(() -> "SYNCED".equals(cdsStatus(harness)));
                assertNull(again.next(Duration.ofMillis(300)), "its ACK is not answered again");
            }
        }
    }

    @SuppressWarnings("unchecked")
    static String cdsStatus(PilotHarness harness) {
        for (Map<String, Object> proxy : DebugRoutes.syncz(harness.pilot)) {
            Map<String, Map<String, Object>> xds = (Map<String, Map<String, Object>>) proxy.get("xds");
            if (xds != null && xds.get("cds") != null) {
                return String.valueOf(xds.get("cds").get("status"));
            }
        }
        return null;
    }
}
