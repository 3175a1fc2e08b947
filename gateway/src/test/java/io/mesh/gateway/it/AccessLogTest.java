package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
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
 * The local access log (mesh.gateway.telemetry.access-log=true, no HCM from xDS saying otherwise): one line per request
 * in Istio's JSON labels (EnvoyJSONLogFormatIstio) as Envoy renders them, on the fast path and the Vert.x path alike, read from the {@code io.mesh.gateway.access} logger the lines go to.
 */
class AccessLogTest {

    static Vertx vertx;
    static Backend web;
    static PathPair pair;
    static int dead;
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static final List<String> LINES = CAPTURE.lines;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        vertx = Vertx.vertx();
        web = new Backend(vertx, "web");
        dead = FreePorts.next();
        pair = new PathPair();
        pair.publish((cp, port) -> cp.set(List.of(Xds.edsCluster("web"), Xds.edsCluster("dead")),
                List.of(Xds.endpoints("web", web.port), Xds.endpoints("dead", dead)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/dead", "dead"),
                        Xds.prefixTo("/", "web")))), List.of()));
        pair.start(Map.of("mesh.gateway.telemetry.access-log", "true"), null);
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
        pair.close();
        vertx.close();
    }

    /** The line for the request whose x-request-id is {@code id}. */
    private static JsonObject line(String id) {
        await().atMost(Duration.ofSeconds(5)).until(() -> LINES.stream().anyMatch(l -> l.contains(id)));
        return new JsonObject(LINES.stream().filter(l -> l.contains(id)).findFirst().orElseThrow());
    }

    private static HttpResponse<String> get(int port, String path, String id) throws Exception {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("x-request-id", id)
                        .header("user-agent", "access-log-test").build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aProxiedRequestIsOneJsonLineWithEnvoysFieldsOnBothPaths() throws Exception {
        long fastBefore = pair.fast.gateway.dataPlane().fastPathRequests();
        for (int p : pair.ports()) {
            String id = "access-" + p;
            HttpResponse<String> r = get(p, "/hello?x=1", id);
            assertEquals(200, r.statusCode());
            JsonObject l = line(id);
            assertEquals("GET", l.getString("method"));
            assertEquals("/hello?x=1", l.getString("path"));
            assertEquals("HTTP/1.1", l.getString("protocol"));
            assertEquals(200, l.getInteger("response_code"));
            assertEquals("-", l.getString("response_flags"));
            assertEquals("127.0.0.1:" + web.port, l.getString("upstream_host"));
            assertEquals("web", l.getString("upstream_cluster"));
            assertEquals("127.0.0.1:" + p, l.getString("authority"));
            assertEquals("access-log-test", l.getString("user_agent"));
            assertEquals(r.body().length(), l.getLong("bytes_sent"));
            assertTrue(l.getLong("duration") >= 0, l.encode());
            // Envoy's %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%: the router's header, a string
            long upstream = Long.parseLong(l.getString("upstream_service_time"));
            assertTrue(upstream >= 0 && upstream <= l.getLong("duration"), "upstream service time measured: " + l.encode());
            assertTrue(l.getString("downstream_remote_address").startsWith("127.0.0.1"), l.encode());
            assertEquals("127.0.0.1:" + p, l.getString("downstream_local_address"), l.encode());
            assertTrue(l.getString("upstream_local_address").matches("127\\.0\\.0\\.1:\\d+"), l.encode());
            assertEquals(new java.util.TreeSet<>(io.mesh.gateway.model.AccessLogFormat.ISTIO_JSON.keySet()),
                    new java.util.TreeSet<>(l.fieldNames()), "Istio's JSON labels, no more");
        }
        assertEquals(fastBefore + 1, pair.fast.gateway.dataPlane().fastPathRequests(), "one request took the fast path");
    }

    @Test
    void anHttp2RequestIsLoggedAsEnvoyNamesItsProtocol() throws Exception {
        // h2c with prior knowledge: Envoy's %PROTOCOL% is "HTTP/2" (the ALPN name "h2" is not a protocol string).
        io.vertx.core.http.HttpClient h2 = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
                .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
        try {
            for (int p : pair.ports()) {
                String id = "h2-" + p;
                int status = h2.request(io.vertx.core.http.HttpMethod.GET, p, "127.0.0.1", "/h2")
                        .compose(req -> req.putHeader("x-request-id", id).send())
                        .compose(resp -> resp.body().map(body -> resp.statusCode()))
                        .toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(200, status);
                assertEquals("HTTP/2", line(id).getString("protocol"), line(id).encode());
            }
        } finally {
            h2.close();
        }
    }

    @Test
    void aFailedUpstreamConnectionIsLoggedWithItsFlagAndNoUpstreamTime() throws Exception {
        for (int p : pair.ports()) {
            String id = "dead-" + p;
            assertEquals(503, get(p, "/dead", id).statusCode());
            JsonObject l = line(id);
            assertEquals(503, l.getInteger("response_code"));
            assertEquals("UF", l.getString("response_flags"));
            assertEquals("dead", l.getString("upstream_cluster"));
            assertTrue(l.containsKey("upstream_service_time") && l.getValue("upstream_service_time") == null,
                    "no upstream response: " + l.encode());
            assertEquals(null, l.getValue("upstream_local_address"), "never connected: " + l.encode());
        }
    }
}
