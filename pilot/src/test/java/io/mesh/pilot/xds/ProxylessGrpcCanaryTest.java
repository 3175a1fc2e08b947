package io.mesh.pilot.xds;

import static io.mesh.pilot.testing.Checks.assertBetween;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.testing.grpc.NamedGrpcBackend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The seed's canary, end to end with grpc-java's real xDS client: 50/50, then 90/10 without a restart. */
class ProxylessGrpcCanaryTest {
    @TempDir
    Path dir;
    NamedGrpcBackend web;
    NamedGrpcBackend backend;
    PilotHarness harness;

    @BeforeEach
    void start() {
        web = new NamedGrpcBackend("web");
        backend = new NamedGrpcBackend("backend");
        harness = new PilotHarness(dir);
        harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", web.port()) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", backend.port()));
        harness.write("web-vs.yaml", MeshFixtures.canary(50, 50));
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().meshRoutes()
                .containsKey("web.demo.svc.cluster.local"));
    }

    @AfterEach
    void stop() {
        harness.close();
        web.close();
        backend.close();
    }

    @Test
    void weightedRouteSplitsTrafficByWeightAndReRoutesWithoutRestart() {
        ManagedChannel channel = harness.xdsChannel("web.demo.svc.cluster.local:80", "canary-client");
        NamedGrpcBackend.warmUp(channel);
        Map<String, Integer> first = NamedGrpcBackend.count(channel, 1000);
        assertBetween(first.getOrDefault("backend", 0), 450, 550, "backend at 50% " + first);
        assertBetween(first.getOrDefault("web", 0), 450, 550, "web at 50% " + first);

        long changed = System.nanoTime();
        harness.write("web-vs.yaml", MeshFixtures.canary(90, 10));
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                .until(() -> NamedGrpcBackend.count(channel, 50).getOrDefault("backend", 0) >= 40);
        Duration took = Duration.ofNanos(System.nanoTime() - changed);

        Map<String, Integer> second = NamedGrpcBackend.count(channel, 1000);
        assertBetween(second.getOrDefault("backend", 0), 850, 950, "backend at 90% " + second);
        assertBetween(second.getOrDefault("web", 0), 50, 150, "web at 10% " + second);
        assertTrue(took.compareTo(Duration.ofSeconds(2)) < 0, "re-routed in " + took);
    }
}
