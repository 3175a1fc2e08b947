package io.mesh.telemetry.acceptance;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.hasItems;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.ingest.OtlpHttpReceiver;
import io.mesh.testing.Chromium;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Acceptance: headless Chromium (Debian's {@code chromium}) loads the graph page while Bookinfo's demo traffic
 * flows; the DOM it renders has the demo's nodes and per-edge stats, failing edges are highlighted, and a
 * screenshot is saved as target/graph-page.png.
 */
@QuarkusTest
class GraphPageChromiumTest {

    private static final Pattern EDGE_LABEL = Pattern.compile(
            "class=\"edge-label\"[^>]*><tspan[^>]*>[0-9.]+ rps · [0-9.]+% err</tspan><tspan[^>]*>"
                    + "p50 [0-9.]+ms · p99 [0-9.]+ms</tspan>");

    @Inject
    OtlpHttpReceiver receiver;

    @Test
    void chromiumDrawsTheDemoMeshWithEdgeStatsAndHighlightsErrors() throws Exception {
        String page = "http://127.0.0.1:" + RestAssured.port + "/graph/";
        try (DemoTraffic traffic = new DemoTraffic(receiver.port()).start(Duration.ofMillis(200))) {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().get("/api/graph").then()
                    .statusCode(200).body("nodes.id", hasItems("workload:default/productpage-v1",
                            "service:reviews.default.svc.cluster.local", "workload:default/ratings-v1")));

            String dom = Chromium.run("--dump-dom", page);
            assertTrue(dom.contains("data-id=\"workload:default/productpage-v1\""), dom);
            assertTrue(dom.contains("data-id=\"service:details.default.svc.cluster.local\""), dom);
            assertTrue(dom.contains("data-id=\"service:ratings.default.svc.cluster.local\""), dom);
            assertTrue(dom.contains("data-id=\"workload:default/reviews-v2\""), dom);
            assertTrue(dom.contains("class=\"edge error\" data-source=\"workload:default/reviews-v2\" "
                    + "data-target=\"service:ratings.default.svc.cluster.local\""), dom);
            // A fifth of ratings' calls fail; a page drawn between two points of one report may show a bit less.
            assertTrue(Pattern.compile("data-target=\"service:ratings.default.svc.cluster.local\"><path[^>]*></path>"
                    + "<text class=\"edge-label\"[^>]*><tspan[^>]*>[0-9.]+ rps · (1[5-9]|20)\\.[0-9]% err")
                    .matcher(dom).find(), "ratings' error rate is shown:\n" + dom);
            long labels = EDGE_LABEL.matcher(dom).results().count();
            assertTrue(labels >= 6, labels + " edge labels with rps, errors, p50 and p99:\n" + dom);

            Path screenshot = Path.of("target", "graph-page.png").toAbsolutePath();
            Files.deleteIfExists(screenshot);
            Chromium.run("--screenshot=" + screenshot, "--window-size=1400,1000", page);
            assertTrue(Files.size(screenshot) > 10_000, "screenshot " + screenshot);
            byte[] png = Files.readAllBytes(screenshot);
            assertEquals((byte) 0x89, png[0]);
            assertEquals('P', png[1]);
        }
    }
}
