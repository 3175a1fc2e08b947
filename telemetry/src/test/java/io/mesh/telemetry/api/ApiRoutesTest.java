package io.mesh.telemetry.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
class ApiRoutesTest {

    @Test
    void badQueryParametersAreNamedIn400s() {
        given().queryParam("limit", 0).get("/api/traces").then().statusCode(400)
                .body("error", containsString("limit"));
        given().queryParam("minDurationMs", -1).get("/api/traces").then().statusCode(400)
                .body("error", containsString("minDurationMs"));
        given().queryParam("errorsOnly", "maybe").get("/api/traces").then().statusCode(400)
                .body("error", containsString("errorsOnly"));
        given().get("/api/traces/not-a-trace-id").then().statusCode(400).body("error", containsString("32 hex"));
    }

    @Test
    void anUnknownTraceIs404() {
        given().get("/api/traces/0123456789abcdef0123456789abcdef").then().statusCode(404);
    }

    @Test
    void theGraphAndThePageAreServed() {
        given().get("/api/graph").then().statusCode(200).body("windowSeconds", equalTo(60))
                .body("nodes", notNullValue()).body("edges", notNullValue());
        given().redirects().follow(false).get("/graph").then().statusCode(302);
        given().get("/graph/").then().statusCode(200).contentType(containsString("text/html"))
                .body(containsString("graph.js")).body(containsString("<svg"));
        given().get("/graph/graph.js").then().statusCode(200).body(containsString("/api/graph"));
    }
}
