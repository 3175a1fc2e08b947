package io.mesh.gateway;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.FreePorts;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A Telemetry's metric overrides, as pilot sends them (Istio's {@code istio.stats} filter, a TypedStruct of
 * {@code stats.PluginConfig}), applied by the packaged gateway: real requests, then the merged exposition on the
 * monitoring port ({@code /stats/prometheus}) has the removed label gone, the labels upserted from a request header,
 * a response header and CEL's functions, and no series of the disabled metric. Routed requests (over HTTP/1.1 the fast path's) and direct responses (the Vert.x
 * path's), over HTTP/1.1 and HTTP/2.
 */
@QuarkusTest
@TestProfile(TelemetryMetricsOverridesTest.WithOverrides.class)
class TelemetryMetricsOverridesTest {

    static final int LISTENER = FreePorts.next();
    static final int BACKEND = FreePorts.next();
    static com.sun.net.httpserver.HttpServer backend;

    @org.junit.jupiter.api.BeforeAll
    static void startBackend() throws java.io.IOException {
        backend = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", BACKEND), 0);
        backend.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            byte[] ok = "ok".getBytes();
            ex.getResponseHeaders().add("x-cache", "HIT");
            ex.sendResponseHeaders(200, ok.length);
            ex.getResponseBody().write(ok);
            ex.close();
        });
        backend.start();
    }

    @org.junit.jupiter.api.AfterAll
    static void stopBackend() {
        backend.stop(0);
    }

    public static class WithOverrides implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path f = Files.createTempFile("bootstrap", ".json");
                f.toFile().deleteOnExit();
                Files.writeString(f, """
                        { "static_resources": { "listeners": [{ "name": "test",
                          "address": { "socket_address": { "address": "127.0.0.1", "port_value": %d } },
                          "filter_chains": [{ "filters": [{ "name": "envoy.filters.network.http_connection_manager", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                            "stat_prefix": "t",
                            "route_config": { "name": "local", "virtual_hosts": [{ "name": "all", "domains": ["*"], "routes": [
                              { "match": { "prefix": "/api" }, "route": { "cluster": "outbound|80||orders.demo.svc.cluster.local" } },
                              { "match": { "prefix": "/" }, "direct_response": { "status": 200, "body": { "inline_string": "hi" } } } ] }] },
                            "http_filters": [
                              { "name": "istio.stats", "typed_config": {
                                "@type": "type.googleapis.com/xds.type.v3.TypedStruct",
                                "type_url": "type.googleapis.com/stats.PluginConfig",
                                "value": { "disable_host_header_fallback": true, "metrics": [
                                  { "name": "request_bytes", "drop": true },
                                  { "name": "requests_total", "dimensions": { "team": "request.headers['x-team']",
                                      "method_class": "request.method in ['POST', 'PUT'] ? 'write' : 'read'",
                                      "cache": "response.headers['x-cache']",
                                      "api": "string(request.url_path.startsWith('/api') && 'x-team' in request.headers)" },
                                    "tags_to_remove": ["request_protocol"] },
                                  { "tags_to_remove": ["grpc_response_status"] } ] } } },
                              { "name": "envoy.filters.http.router", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } } ] } }] }] }],
                          "clusters": [{ "name": "outbound|80||orders.demo.svc.cluster.local", "type": "STATIC",
                            "connect_timeout": "1s", "load_assignment": { "cluster_name": "orders", "endpoints": [{ "lb_endpoints": [
                              { "endpoint": { "address": { "socket_address": { "address": "127.0.0.1", "port_value": %d } } } } ] }] } }] } }
                        """.formatted(LISTENER, BACKEND));
                return Map.of("mesh.gateway.bootstrap-file", f.toString());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** The exposition's lines of one family (its name, then a label set). */
    static List<String> series(String body, String family) {
        return body.lines().filter(l -> l.startsWith(family + "{")).toList();
    }

    @Test
    void aRemovedLabelIsGoneAnUpsertedOneComesFromTheRequestAndADroppedMetricIsAbsent() throws Exception {
        HttpClient h1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        // A routed request (HTTP/1.1: the fast path) and a direct response (the Vert.x path), with and without the header.
        for (String path : List.of("/api/orders", "/local")) {
            URI uri = URI.create("http://127.0.0.1:" + LISTENER + path);
            for (HttpClient http : List.of(h1, h2)) {
                assertEquals(200, http.send(HttpRequest.newBuilder(uri).header("x-team", "payments").build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode());
                assertEquals(200, http.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString("x"))
                        .build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            }
        }
        Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).untilAsserted(() -> {
            String body = given().get("/stats/prometheus").then().statusCode(200).extract().asString();
            List<String> requests = series(body, "istio_requests_total");
            assertEquals(4, requests.size(), body);
            for (String service : List.of("orders.demo.svc.cluster.local", "unknown")) {
                List<String> of = requests.stream().filter(l -> l.contains("destination_service=\"" + service + "\""))
                        .toList();
                String payments = of.stream().filter(l -> l.contains("team=\"payments\"")).findFirst().orElseThrow();
                assertTrue(payments.contains("method_class=\"read\""), payments);
                assertTrue(payments.endsWith(" 2.0"), payments);   // one over HTTP/1.1, one over HTTP/2
                String anonymous = of.stream().filter(l -> l.contains("team=\"unknown\"")).findFirst().orElseThrow();
                assertTrue(anonymous.contains("method_class=\"write\""), anonymous);
                // CEL's functions and the response headers as sent: the routed responses carry the backend's x-cache.
                boolean routed = service.startsWith("orders");
                assertTrue(payments.contains("api=\"" + routed + "\""), payments);
                assertTrue(anonymous.contains("api=\"false\""), anonymous);
                for (String l : List.of(payments, anonymous)) {
                    assertTrue(l.contains("cache=\"" + (routed ? "HIT" : "unknown") + "\""), l);
                }
            }
            for (String l : requests) {
                assertFalse(l.contains("request_protocol="), l);
                assertFalse(l.contains("grpc_response_status="), l);
                assertTrue(l.contains("response_code=\"200\""), l);
            }
            // The overrides of requests_total are its own: the duration keeps request_protocol and has no team.
            List<String> durations = series(body, "istio_request_duration_milliseconds_count");
            assertFalse(durations.isEmpty(), body);
            for (String l : durations) {
                assertTrue(l.contains("request_protocol=\"http\""), l);
                assertFalse(l.contains("team="), l);
                assertFalse(l.contains("grpc_response_status="), l);
            }
            assertFalse(series(body, "istio_response_bytes_count").isEmpty(), body);
            assertEquals(List.of(), body.lines().filter(l -> l.startsWith("istio_request_bytes")).toList());
        });
    }
}
