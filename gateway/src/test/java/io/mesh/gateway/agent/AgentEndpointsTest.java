package io.mesh.gateway.agent;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.FreePorts;
import io.mesh.testing.Promtool;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Istio's agent contract on the monitoring port, through Quarkus's HTTP server, with the settings the injector writes
 * (ISTIO_PROMETHEUS_ANNOTATIONS, ISTIO_KUBE_APP_PROBERS, here as their config properties) and a real app next to it.
 */
@QuarkusTest
@TestProfile(AgentEndpointsTest.Injected.class)
class AgentEndpointsTest {

    static final int APP = FreePorts.next();
    static final int GRPC = FreePorts.next();
    static final int CLOSED = FreePorts.next();
    static final int HTTPS = FreePorts.next();
    static final TestApp app = new TestApp(APP, GRPC, HTTPS);

    public static class Injected implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "mesh.gateway.agent.prometheus-annotations", """
                            {"scrape":"true","path":"/metrics","port":"%d"}""".formatted(APP),
                    "mesh.gateway.agent.scrape-timeout", "1s",
                    "mesh.gateway.agent.app-probers", """
                            {"/app-health/api/livez":{"httpGet":{"path":"/healthz","port":%1$d,
                                 "httpHeaders":[{"name":"X-Probe","value":"kubelet"}]},"timeoutSeconds":2},
                             "/app-health/api/readyz":{"tcpSocket":{"port":%1$d},"timeoutSeconds":1},
                             "/app-health/api/startupz":{"grpc":{"port":%2$d},"timeoutSeconds":5},
                             "/app-health/orders/readyz":{"grpc":{"port":%2$d,"service":"orders"},"timeoutSeconds":5},
                             "/app-health/gone/readyz":{"tcpSocket":{"port":%3$d}},
                             "/app-health/gone/livez":{"grpc":{"port":%3$d}},
                             "/app-health/slow/livez":{"httpGet":{"path":"/slow","port":%1$d},"timeoutSeconds":1},
                             "/app-health/moved/livez":{"httpGet":{"path":"moved","port":%1$d}},
                             "/app-health/tls/readyz":{"httpGet":{"path":"/","port":%4$d,"scheme":"HTTPS"},"timeoutSeconds":3}}
                            """.formatted(APP, GRPC, CLOSED, HTTPS));
        }
    }

    @AfterEach
    void reset() {
        app.metrics = TestApp.Metrics.TEXT;
        app.healthy = true;
    }

    @Test
    void mergedMetricsHaveTheProxysAndTheAppsAndPassPromtool() {
        String body = given().accept(Promtool.OPEN_METRICS).get("/stats/prometheus").then().statusCode(200)
                .contentType(containsString("text/plain; version=0.0.4"))
                .body(containsString("# TYPE jvm_threads_live_threads gauge"))
                .body(containsString("istio_agent_scrapes_total "))
                .body(containsString("app_orders_total{shop=\"north\"} 7"))
                .body(containsString("app_queue_depth 3"))
                .extract().asString();
        assertTrue(body.indexOf("jvm_threads_live_threads") < body.indexOf("app_orders_total"), "the app's part comes last");
        assertPromtoolAccepts(body);
    }

    @Test
    void anAppFamilyNamedLikeTheProxysIsLeftOutSoTheScrapeStaysValid() {
        app.metrics = TestApp.Metrics.CLASHING;
        String body = given().get("/stats/prometheus").then().statusCode(200)
                .body(containsString("app_orders_total{shop=\"north\"} 7"))
                .body(not(containsString("jvm_threads_live_threads 42")))
                .extract().asString();
        assertEquals(1, count(body, "# TYPE jvm_threads_live_threads "), body);
        assertPromtoolAccepts(body);
    }

    @Test
    void openMetricsFromTheAppIsMergedAsText() {
        app.metrics = TestApp.Metrics.OPEN_METRICS;
        String body = given().get("/stats/prometheus").then().statusCode(200)
                .body(containsString("# TYPE app_jobs_total counter"))
                .body(containsString("app_jobs_total{kind=\"a{b} # c\"} 5\n"))
                .body(containsString("# TYPE app_build_info gauge"))
                .body(containsString("app_temperature_celsius 21.5 1700000000250\n"))
                .body(not(containsString("# EOF")))
                .body(not(containsString("app_jobs_created")))
                .body(not(containsString("trace_id")))
                .extract().asString();
        assertPromtoolAccepts(body);
    }

    @Test
    void anAppThatFailsCostsOnlyItsPartAndIsCounted() {
        double before = failures(given().get("/stats/prometheus").then().statusCode(200).extract().asString());
        app.metrics = TestApp.Metrics.FAILING;
        String body = given().get("/stats/prometheus").then().statusCode(200)
                .body(containsString("# TYPE jvm_threads_live_threads gauge"))
                .body(not(containsString("app_orders_total")))
                .extract().asString();
        assertEquals(before + 1, failures(body), body);
        assertPromtoolAccepts(body);
    }

    @Test
    void anAppThatHangsIsCutAtTheScrapeTimeout() {
        app.metrics = TestApp.Metrics.HANGING;
        double before = failures(given().get("/q/metrics").then().statusCode(200).extract().asString());
        String body = given().get("/stats/prometheus").then().statusCode(200)
                .body(containsString("# TYPE jvm_threads_live_threads gauge"))
                .body(not(containsString("app_orders_total")))
                .extract().asString();
        assertEquals(before + 1, failures(body), body);
    }

    @Test
    void anHttpProbeAnswersWithTheAppsStatusAndSendsTheProbesHeaders() {
        given().get("/app-health/api/livez").then().statusCode(200)
                // the app sees its own port in Host, not the sidecar's
                .body(containsString(":" + APP));
        app.healthy = false;
        given().get("/app-health/api/livez").then().statusCode(503);
    }

    @Test
    void anHttpsProbeDoesNotCheckTheAppsCertificate() {
        given().get("/app-health/tls/readyz").then().statusCode(200).body(containsString("tls true"));
        app.healthy = false;
        given().get("/app-health/tls/readyz").then().statusCode(500).body(containsString("tls true"));
    }

    @Test
    void aRedirectCountsAsSuccess() {
        given().redirects().follow(false).get("/app-health/moved/livez").then().statusCode(200);
    }

    @Test
    void anHttpProbePastItsTimeoutFails() {
        given().get("/app-health/slow/livez").then().statusCode(500);
    }

    @Test
    void aTcpProbeSucceedsOnAnOpenPortAndFailsOnAClosedOne() {
        given().get("/app-health/api/readyz").then().statusCode(200);
        given().get("/app-health/gone/readyz").then().statusCode(500);
    }

    @Test
    void aGrpcProbeAsksTheHealthService() {
        given().get("/app-health/api/startupz").then().statusCode(200);
        given().get("/app-health/orders/readyz").then().statusCode(500);
        given().get("/app-health/gone/livez").then().statusCode(500);
        app.health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
        try {
            given().get("/app-health/api/startupz").then().statusCode(500);
        } finally {
            app.health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
        }
    }

    @Test
    void aPathWithoutAProberIsABadRequestAsInIstio() {
        given().get("/app-health/nobody/livez").then().statusCode(400)
                .body(containsString("app prober config does not exist for /app-health/nobody/livez"));
        given().get("/app-health/api").then().statusCode(400);
    }

    private static double failures(String exposition) {
        Matcher m = Pattern.compile("(?m)^istio_agent_scrape_failures_total\\{type=\"application\",?} (\\S+)$").matcher(exposition);
        assertTrue(m.find(), "no failure counter in:\n" + exposition);
        return Double.parseDouble(m.group(1));
    }

    private static int count(String s, String part) {
        return s.split(Pattern.quote(part), -1).length - 1;
    }

    /** promtool passes, or flags only Istio's own istio_request_duration_milliseconds name, as the other metrics tests accept. */
    static void assertPromtoolAccepts(String exposition) {
        Promtool.Result result = Promtool.checkMetrics(exposition);
        List<String> findings = result.output().lines().filter(l -> !l.isBlank()).toList();
        assertTrue(result.exitCode() == 0 || (result.exitCode() == 3 && findings.stream()
                .allMatch(l -> l.startsWith("istio_request_duration_milliseconds")
                        && l.endsWith("use base unit \"seconds\" instead of \"milliseconds\""))), result.output());
        assertFalse(exposition.isBlank());
    }
}
