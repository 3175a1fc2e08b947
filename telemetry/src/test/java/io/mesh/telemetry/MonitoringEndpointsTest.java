package io.mesh.telemetry;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import io.mesh.testing.Promtool;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
class MonitoringEndpointsTest {

    @Test
    void livenessIsUp() {
        given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void readinessIsUp() {
        given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void prometheusTextMetricsPassPromtool() {
        String body = given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics")
                .then().statusCode(200).contentType(startsWith("text/plain")).extract().asString();
        // Istio's series share this exposition once proxies report; their one mandated lint finding is accepted.
        IstioPromtool.assertValidMetrics(body);
    }

    @Test
    void openMetricsIsServedToScrapersThatAskForIt() {
        given().accept(Promtool.OPEN_METRICS).get("/q/metrics")
                .then().statusCode(200).contentType(startsWith("application/openmetrics-text"))
                .body(endsWith("# EOF\n"));
    }
}
