package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Telemetry's {@code accessLogging[].filter} as pilot sends it (Envoy's CEL ExtensionFilter on the HCM's file access
 * log): a request is logged only when the expression is true after its response, on the fast path and on the Vert.x
 * path, CEL's functions ({@code startsWith}, {@code matches}, {@code contains}), {@code in} over a list and over the
 * request headers, and the response headers as sent downstream included; an expression the gateway cannot compile (an
 * invalid regex, an unknown function) is NACKed with the position, and the last good filter keeps deciding. Real
 * gateways on a real ADS server, requests by the JDK's HTTP client and curl, lines read from
 * {@code io.mesh.gateway.access}.
 */
class AccessLogFilterTest {
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static io.vertx.core.Vertx vertx;
    static Backend web;
    static PathPair pair;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        vertx = io.vertx.core.Vertx.vertx();
        web = new Backend(vertx, "web");
        pair = new PathPair();
        publish(filtered("response.code >= 400"));
        pair.start(Map.of(), null);
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
        pair.close();
        web.close();
        vertx.close();
    }

    /** pilot's HCM with the file access log to stdout under this CEL filter. */
    static HttpConnectionManager filtered(String expression) {
        HttpConnectionManager hcm = ListenerTelemetryTest.pilotShape("/dev/stdout", 1.0, true);
        AccessLog log = hcm.getAccessLog(0).toBuilder().setFilter(AccessLogFilter.newBuilder().setExtensionFilter(
                ExtensionFilter.newBuilder().setName("envoy.access_loggers.extension_filters.cel").setTypedConfig(
                        Any.pack(ExpressionFilter.newBuilder().setExpression(expression).build())))).build();
        return hcm.toBuilder().setAccessLog(0, log).build();
    }

    static void publish(HttpConnectionManager hcm) {
        pair.publishAcked(ListenerTelemetryTest.withListener(web, hcm));
    }

    static int get(int port, String path, String id, String debug) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("x-request-id", id);
        if (debug != null) {
            r.header("x-debug", debug);
        }
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                .send(r.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    static boolean logged(String id) {
        return CAPTURE.lines.stream().anyMatch(l -> l.contains("\"request_id\":\"" + id + "\""));
    }

    @Test
    void onlyErrorsAreLoggedUnderResponseCodeAtLeast400() throws Exception {
        publish(filtered("response.code >= 400"));
        for (int p : pair.ports()) {
            for (int i = 0; i < 3; i++) {
                assertEquals(200, get(p, "/hello", "ok-" + p + "-" + i, null));
            }
            assertEquals(500, get(p, "/fail", "error-" + p, null));
            // Lines are written in order on the connection's loop: once the error's is there, the 200s' would be too.
            await().atMost(Duration.ofSeconds(5)).until(() -> logged("error-" + p));
            String line = CAPTURE.lines.stream().filter(l -> l.contains("error-" + p)).findFirst().orElseThrow();
            assertTrue(line.contains("\"response_code\":500"), line);
            for (int i = 0; i < 3; i++) {
                assertFalse(logged("ok-" + p + "-" + i), "a 200 passed response.code >= 400");
            }
        }
    }

    @Test
    void aFilterOnARequestHeaderSeesTheHeaderAsItArrived() throws Exception {
        publish(filtered("request.headers['x-debug'] == 'on'"));
        for (int p : pair.ports()) {
            assertEquals(200, get(p, "/hello", "quiet-" + p, null));
            assertEquals(200, get(p, "/hello", "off-" + p, "off"));
            assertEquals(200, get(p, "/hello", "debug-" + p, "on"));
            await().atMost(Duration.ofSeconds(5)).until(() -> logged("debug-" + p));
            assertFalse(logged("quiet-" + p), "no header: the attribute is absent, so the filter is false");
            assertFalse(logged("off-" + p));
        }
    }

    /** curl {@code method} {@code path} on {@code port} with {@code x-request-id: id} and {@code headers}; the status. */
    static String curl(int port, String method, String path, String id, String... headers) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-w",
                "%{http_code}", "-X", method, "-H", "x-request-id: " + id));
        for (String h : headers) {
            cmd.addAll(List.of("-H", h));
        }
        cmd.add("http://127.0.0.1:" + port + path);
        return Run.run(cmd, null);
    }

    @Test
    void aFilterWithCelFunctionsLogsOnlyTheRequestsItMatches() throws Exception {
        publish(filtered("!request.url_path.startsWith('/healthz') && request.path.matches('^/api/v[0-9]+/')"
                + " && request.method in ['POST', 'PUT'] && !request.headers['user-agent'].contains('kube-probe')"
                + " || 'x-team' in request.headers"));
        for (int p : pair.ports()) {
            String id = "fn-" + p + "-";
            assertEquals("200", curl(p, "POST", "/api/v1/items?page=2", id + "post"));
            assertEquals("200", curl(p, "PUT", "/api/v22/items", id + "put"));
            assertEquals("200", curl(p, "GET", "/api/v1/items", id + "get"));
            assertEquals("200", curl(p, "POST", "/api/vX/items", id + "no-version"));
            assertEquals("200", curl(p, "POST", "/v1/api/v1/items", id + "not-at-start"));
            assertEquals("200", curl(p, "PUT", "/healthz/api/v1/", id + "healthz"));
            assertEquals("200", curl(p, "POST", "/api/v1/items", id + "probe", "user-agent: kube-probe/1.29"));
            assertEquals("200", curl(p, "GET", "/other", id + "team", "X-Team: payments"));
            await().atMost(Duration.ofSeconds(5)).until(() -> logged(id + "team"));
            assertTrue(logged(id + "post"), "POST under /api/v1/ matches");
            assertTrue(logged(id + "put"), "PUT under /api/v22/ matches");
            for (String quiet : List.of("get", "no-version", "not-at-start", "healthz", "probe")) {
                assertFalse(logged(id + quiet), quiet + " passed the filter");
            }
        }
    }

    @Test
    void aFilterOnAResponseHeaderSeesTheHeadersAsSentDownstream() throws Exception {
        // The backend answers with x-backend: web; the fast path keeps the decoded response only for such a filter.
        // With the request's other attributes Envoy has and the subset serves: each must be there on both paths.
        publish(filtered("response.headers['x-backend'] == 'web' && request.headers['x-phase'] == 'web'"
                + " && request.scheme == 'http' && request.query == 'a=1' && request.duration < duration('1m')"
                + " && request.time > timestamp('2024-01-01T00:00:00Z') && request.time <= timestamp('"
                + java.time.Instant.now().plusSeconds(60) + "') && upstream.local_address.startsWith('127.0.0.1:')"));
        for (int p : pair.ports()) {
            assertEquals("200", curl(p, "GET", "/hello?a=1", "resp-web-" + p, "x-phase: web"));
            await().atMost(Duration.ofSeconds(5)).until(() -> logged("resp-web-" + p));
        }
        publish(filtered("response.headers['x-backend'].startsWith('api') || !('x-backend' in response.headers)"
                + " || request.headers['x-mark'] == 'on'"));
        for (int p : pair.ports()) {
            assertEquals("200", curl(p, "GET", "/hello", "resp-api-" + p));
            assertEquals("500", curl(p, "GET", "/fail", "resp-mark-" + p, "x-mark: on"));
            await().atMost(Duration.ofSeconds(5)).until(() -> logged("resp-mark-" + p));
            assertFalse(logged("resp-api-" + p), "the response's x-backend is web, not api");
        }
    }

    @Test
    void anExpressionTheGatewayCannotCompileIsNackedAndTheLastGoodFilterStays() throws Exception {
        publish(filtered("response.code >= 400"));
        pair.nacked(ListenerTelemetryTest.withListener(web, filtered("response.code >= ")), "access log"
                + " envoy.access_loggers.file: CEL filter does not compile: unexpected end at position 17 of \"response.code >= \"");
        pair.nacked(ListenerTelemetryTest.withListener(web, filtered("request.path.matches('[')")), "access log"
                + " envoy.access_loggers.file: CEL filter does not compile: invalid regex for matches(): missing closing ]"
                + " in \"[\" at position 21 of \"request.path.matches('[')\"");
        pair.nacked(ListenerTelemetryTest.withListener(web, filtered("request.path.lower() == 'x'")), "access log"
                + " envoy.access_loggers.file: CEL filter does not compile: unknown function \"lower\" (served: [contains,"
                + " duration, endsWith, int, matches, size, startsWith, string, timestamp, uint], and has()) at position 13"
                + " of \"request.path.lower() == 'x'\"");
        assertEquals(200, get(pair.port, "/hello", "after-nack-ok", null));
        assertEquals(500, get(pair.port, "/fail", "after-nack-error", null));
        await().atMost(Duration.ofSeconds(5)).until(() -> logged("after-nack-error"));
        assertFalse(logged("after-nack-ok"), "the last good filter (response.code >= 400) still decides");
    }
}
