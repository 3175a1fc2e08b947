package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.mesh.testing.FreePorts;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Slow start through the router (istiod's {@code slow_start_config} for a DestinationRule's {@code warmup}): a second
 * endpoint that EDS adds to a round robin cluster whose first endpoint is past the 4 s window gets a quarter of the
 * first's weight at first (Envoy's factor for an age under 1 s: 1 s / 4 s), so 10 requests send it at most 3 where
 * a plain round robin sends it 5; once its window is over the two share evenly. curl, real backends.
 */
class SlowStartRouterTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();

    static final long WINDOW_MS = 4_000;

    @Test
    void aNewEndpointRampsUpAndThenTakesItsShare() throws Exception {
        Backend a = MESH.backend("a");
        Backend b = MESH.backend("b");
        ControlPlane pilot = MESH.pilot();
        int port = FreePorts.next();
        Cluster web = Xds.edsCluster("web").toBuilder().setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
                .setRoundRobinLbConfig(Cluster.RoundRobinLbConfig.newBuilder().setSlowStartConfig(
                        Cluster.SlowStartConfig.newBuilder().setSlowStartWindow(
                                com.google.protobuf.util.Durations.fromMillis(WINDOW_MS)))).build();
        var listeners = List.of(Xds.httpListener("http", port, "http.80"));
        var routes = List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web"))));
        pilot.set(List.of(web), List.of(Xds.endpoints("web", a.port)), listeners, routes, List.of());
        TestGateway gw = MESH.startGateway(Map.of());
        assertEquals("200", curl(port));
        Thread.sleep(WINDOW_MS + 500);   // a's window is over

        pilot.set(List.of(web), List.of(Xds.endpoints("web", a.port, b.port)), listeners, routes, List.of());
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(
                () -> gw.gateway.dataPlane().active().upstreams().get("web").endpoints().size() == 2);
        int aBefore = a.hits.get();
        int bBefore = b.hits.get();
        for (int i = 0; i < 10; i++) {
            assertEquals("200", curl(port));
        }
        int bRamp = b.hits.get() - bBefore;
        assertTrue(bRamp >= 1 && bRamp <= 3, "the new endpoint's share while it ramps: " + bRamp + " of 10 (a "
                + (a.hits.get() - aBefore) + ")");

        Thread.sleep(WINDOW_MS + 500);   // b's window is over too
        aBefore = a.hits.get();
        bBefore = b.hits.get();
        for (int i = 0; i < 10; i++) {
            assertEquals("200", curl(port));
        }
        assertEquals(5, b.hits.get() - bBefore, "an even round robin once both are past the window");
        assertEquals(5, a.hits.get() - aBefore);
    }

    static String curl(int port) throws Exception {
        return Run.run(List.of("curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}",
                "http://127.0.0.1:" + port + "/"), null);
    }
}
