package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Two real gateways, each driven by its own ADS server: one on the router's fast path (the default), one on the Vert.x
 * path ({@code mesh.gateway.listeners.fast-path=false}). A test publishes the same config to both, each on its own
 * listener port, and runs each case on both paths.
 */
final class PathPair implements AutoCloseable {

    /** What a test publishes: the snapshot it sets on {@code cp} for a listener on {@code port}; returns the version. */
    interface Config {
        String set(ControlPlane cp, int port);
    }

    /** The fast path gateway's ADS server and listener port. */
    final ControlPlane pilot;
    final int port = FreePorts.next();
    /** The Vert.x path gateway's. */
    final ControlPlane pilot2;
    final int vertxPort = FreePorts.next();
    TestGateway fast;
    TestGateway vertxPath;

    PathPair() throws IOException {
        pilot = new ControlPlane();
        pilot2 = new ControlPlane();
    }

    /** The two listener ports, the fast path's first. */
    int[] ports() {
        return new int[] {port, vertxPort};
    }

    /** Sets on each ADS server what {@code config} builds for its gateway's port; the versions, the fast path's first. */
    List<String> publish(Config config) {
        return List.of(config.set(pilot, port), config.set(pilot2, vertxPort));
    }

    /** The same, then, once the gateways run, waits until both have acknowledged their new listeners. */
    void publishAcked(Config config) {
        List<String> v = publish(config);
        if (fast != null) {
            await().atMost(Duration.ofSeconds(10)).until(() -> pilot.listenersAcked(v.get(0))
                    && pilot2.listenersAcked(v.get(1)));
        }
    }

    /**
     * Starts both gateways with {@code props} (the second with the fast path off), their spans to {@code otel} (null:
     * none), and waits until both have their first complete config.
     */
    void start(Map<String, String> props, io.opentelemetry.api.OpenTelemetry otel) throws Exception {
        Map<String, String> p = new HashMap<>(props);
        p.put("mesh.gateway.xds.address", pilot.address());
        fast = new TestGateway(p, otel);
        p.put("mesh.gateway.xds.address", pilot2.address());
        p.put("mesh.gateway.listeners.fast-path", "false");
        vertxPath = new TestGateway(p, otel);
        await().atMost(Duration.ofSeconds(20)).until(() -> fast.ready() && vertxPath.ready());
    }

    /** Sets what {@code config} builds on the fast path's ADS server, and waits for a NACK whose detail says {@code reason}. */
    void nacked(Config config, String reason) {
        int before = pilot.nacks().size();
        config.set(pilot, port);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            List<String> details = pilot.nacks().stream().skip(before).map(r -> r.getErrorDetail().getMessage()).toList();
            assertTrue(details.stream().anyMatch(d -> d.contains(reason)), details.toString());
        });
    }

    @Override
    public void close() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {vertxPath, fast, pilot, pilot2}) {
            if (c != null) {
                c.close();
            }
        }
    }
}
