package io.mesh.telemetry.acceptance;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.telemetry.ingest.OtlpHttpReceiver;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Acceptance: a real Prometheus server (Debian's {@code prometheus}) scrapes telemetry's /q/metrics every second,
 * and PromQL over its HTTP API returns the rate of Istio's requests per destination service.
 */
@QuarkusTest
class PrometheusScrapeTest {

    private static final String QUERY = "sum(rate(istio_requests_total[1m])) by (destination_service)";

    @Inject
    OtlpHttpReceiver receiver;

    private PrometheusServer prometheus;

    @AfterEach
    void stopPrometheus() throws InterruptedException {
        if (prometheus != null) {
            prometheus.close();
        }
    }

    @Test
    void prometheusScrapesIstioSeriesAndAnswersRateByDestinationService() throws Exception {
        prometheus = PrometheusServer.scraping(RestAssured.port);
        String api = prometheus.api();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            assertTrue(prometheus.alive(), prometheus::log);
            given().get(api + "/-/ready").then().statusCode(200);
        });

        // Traffic keeps flowing while Prometheus collects samples: details gets 20 requests per batch and ratings
        // 10, in the same OTLP request, so their rates stand at two to one.
        try (DemoTraffic traffic = new DemoTraffic(receiver.port()).start(Duration.ofMillis(250))) {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                assertTrue(prometheus.alive(), prometheus::log);
                JsonPath result = given().queryParam("query", QUERY).get(api + "/api/v1/query").then()
                        .statusCode(200).extract().jsonPath();
                assertEquals("success", result.getString("status"));
                Map<String, Double> rates = new HashMap<>();
                List<Map<String, Object>> vector = result.getList("data.result");
                for (Map<String, Object> sample : vector) {
                    @SuppressWarnings("unchecked")
                    Map<String, String> metric = (Map<String, String>) sample.get("metric");
                    List<?> value = (List<?>) sample.get("value");
                    rates.put(metric.get("destination_service"), Double.parseDouble(value.get(1).toString()));
                }
                double details = rates.getOrDefault("details.default.svc.cluster.local", 0.0);
                double ratings = rates.getOrDefault("ratings.default.svc.cluster.local", 0.0);
                assertTrue(details > 0 && ratings > 0, "rates so far: " + rates);
                assertEquals(2.0, details / ratings, 0.25, "rates: " + rates);
            });
        }
        // Prometheus saw the target healthy.
        JsonPath targets = given().get(api + "/api/v1/targets").then().statusCode(200).extract().jsonPath();
        assertEquals("up", targets.getString("data.activeTargets[0].health"), targets.prettify());
    }
}
