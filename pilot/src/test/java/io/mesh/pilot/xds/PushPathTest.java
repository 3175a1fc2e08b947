package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.generator.Generator;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The push path's economy, observed on the wire and at the generator: sidecars of one shape share one generation
 * per snapshot, and an edit that changes only endpoints reaches clients as EDS alone, without regenerating
 * anything else, except for a sidecar that is itself one of the changed endpoints.
 */
class PushPathTest {
    static final Duration WAIT = Duration.ofSeconds(5);
    static final Duration QUIET = Duration.ofMillis(700);
    static final String WEB = "outbound|80||web.demo.svc.cluster.local";
    static final String BACKEND = "outbound|80||backend.demo.svc.cluster.local";

    @TempDir
    Path dir;
    PilotHarness harness;
    final Map<String, AtomicInteger> generated = new ConcurrentHashMap<>();
    final List<RawAdsClient> clients = new ArrayList<>();

    @BeforeEach
    void start() {
        Generator counting = (type, proxy, snapshot, names) -> {
            generated.computeIfAbsent(XdsMetrics.shortType(type), t -> new AtomicInteger()).incrementAndGet();
            return Generator.DEFAULT.generate(type, proxy, snapshot, names);
        };
        harness = new PilotHarness(dir, () -> ServiceSource.View.EMPTY, (raw, reason) -> {
        }, counting);
        harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", 9002));
        harness.write("web-vs.yaml", MeshFixtures.canary(50, 50));
        await().atMost(WAIT).until(() -> harness.pilot.snapshot().meshRoutes().containsKey("web.demo.svc.cluster.local"));
    }

    @AfterEach
    void stop() {
        clients.forEach(RawAdsClient::close);
        harness.close();
    }

    int count(String type) {
        return generated.getOrDefault(type, new AtomicInteger()).get();
    }

    /** A sidecar in namespace demo at {@code ip}, synced on CDS, LDS (wildcard), EDS and RDS "80", all ACKed. */
    RawAdsClient syncedSidecar(String ip) throws Exception {
        RawAdsClient c = new RawAdsClient(harness.pilot.xdsPort(), "sidecar~" + ip + "~app-" + ip + ".demo~demo.svc.cluster.local",
                null).openSotw();
        clients.add(c);
        Map<String, List<String>> names = Map.of(Resources.V3.CLUSTER_TYPE_URL, List.of(), Resources.V3.LISTENER_TYPE_URL,
                List.of(), Resources.V3.ENDPOINT_TYPE_URL, List.of(WEB, BACKEND), Resources.V3.ROUTE_TYPE_URL, List.of("80"));
        names.forEach((type, n) -> c.request(type, n, "", "", null));
        for (int i = 0; i < names.size(); i++) {
            DiscoveryResponse r = c.next(WAIT);
            assertNotNull(r, "initial sync: " + i + " of " + names.size() + " responses");
            c.ack(r, names.get(r.getTypeUrl()));
        }
        assertNull(c.next(QUIET), "ACKs must not trigger resends");
        return c;
    }

    @Test
    void sidecarsOfOneShapeShareOneGenerationPerType() throws Exception {
        for (int i = 1; i <= 4; i++) {
            syncedSidecar("10.9.0." + i);
        }
        for (String type : List.of("cds", "lds", "eds", "rds")) {
            assertEquals(1, count(type), type + " is generated once for four sidecars of one shape: " + generated);
        }
    }

    @Test
    void anEndpointOnlyEditIsPushedAsEdsAloneAndRegeneratesNothingElse() throws Exception {
        RawAdsClient a = syncedSidecar("10.9.0.1");
        RawAdsClient b = syncedSidecar("10.9.0.2");
        Map<String, Integer> before = new HashMap<>();
        generated.forEach((t, n) -> before.put(t, n.get()));

        // backend gets a second endpoint: the same ServiceEntry, only its endpoints differ.
        harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", 9002, 9003));
        for (RawAdsClient c : List.of(a, b)) {
            DiscoveryResponse r = c.next(WAIT);
            assertNotNull(r, "the endpoint change must be pushed");
            assertEquals(Resources.V3.ENDPOINT_TYPE_URL, r.getTypeUrl());
            assertEquals(1, r.getResourcesCount(), "only backend's assignment changed");
            ClusterLoadAssignment cla = r.getResources(0).unpack(ClusterLoadAssignment.class);
            assertEquals(BACKEND, cla.getClusterName());
            assertEquals(2, cla.getEndpoints(0).getLbEndpointsCount());
            c.ack(r, List.of(WEB, BACKEND));
            assertNull(c.next(QUIET), "nothing but EDS is pushed for an endpoint-only change");
        }
        assertEquals(before.get("eds") + 1, count("eds"), "EDS generated once for both sidecars");
        for (String type : List.of("cds", "lds", "rds")) {
            assertEquals(before.get(type), count(type), type + " is not regenerated by an endpoint-only change");
        }
    }

    @Test
    void aSidecarThatIsOneOfTheChangedEndpointsGetsItsInboundSideToo() throws Exception {
        // The fixtures' endpoints are on 127.0.0.1: this sidecar serves web and backend itself.
        RawAdsClient self = syncedSidecar("127.0.0.1");
        harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", 9002, 9003));
        List<String> types = new ArrayList<>();
        DiscoveryResponse cds = null;
        for (DiscoveryResponse r = self.next(WAIT); r != null; r = self.next(QUIET)) {
            types.add(r.getTypeUrl());
            if (r.getTypeUrl().equals(Resources.V3.CLUSTER_TYPE_URL)) {
                cds = r;
            }
        }
        assertTrue(types.contains(Resources.V3.ENDPOINT_TYPE_URL), types.toString());
        assertNotNull(cds, "its inbound clusters changed (a new workload port), so CDS is pushed: " + types);
        List<String> clusters = new ArrayList<>();
        for (var any : cds.getResourcesList()) {
            clusters.add(any.unpack(Cluster.class).getName());
        }
        assertTrue(clusters.contains("inbound|9003||"), clusters.toString());
    }
}
