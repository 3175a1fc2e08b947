package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.v3.Percent;
import io.vertx.core.Vertx;
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
 * The access log and trace sampling of a listener's HttpConnectionManager, as pilot sends them for the Telemetry
 * resources that apply to the gateway (Envoy's file access log to /dev/stdout, {@code tracing.random_sampling}), take
 * the place of the gateway's local settings, and change with the next LDS push without a restart. Two real gateways
 * (the fast path, and the Vert.x path) driven by a real ADS server; requests by the JDK's HTTP client; the access log
 * read from the {@code io.mesh.gateway.access} logger, the sampling from the traceparent the backend received.
 */
class ListenerTelemetryTest {

    static Vertx vertx;
    static Backend web;
    static PathPair pair;
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static final List<String> LINES = CAPTURE.lines;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        vertx = Vertx.vertx();
        web = new Backend(vertx, "web");
        pair = new PathPair();
        publish(pilotShape("/dev/stdout", 1.0, true));
        // Local settings: access log on, every new trace sampled; an HCM that says otherwise must win.
        pair.start(Map.of("mesh.gateway.telemetry.access-log", "true", "mesh.gateway.telemetry.trace-sampling", "100"), null);
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
        pair.close();
        vertx.close();
    }

    /** The HCM's access log and tracing as pilot's TelemetryPolicy writes them (accessLog null: none). */
    static HttpConnectionManager pilotShape(String accessLog, double sampling, boolean reportSpans) {
        HttpConnectionManager.Builder b = Xds.hcm("http.80").toBuilder();
        if (accessLog != null) {
            b.addAccessLog(AccessLog.newBuilder().setName("envoy.access_loggers.file")
                    .setTypedConfig(Any.pack(Xds.istioJsonLog(accessLog))));
        }
        return b.setTracing(HttpConnectionManager.Tracing.newBuilder()
                .setClientSampling(Percent.newBuilder().setValue(100)).setRandomSampling(Percent.newBuilder().setValue(sampling))
                .setOverallSampling(Percent.newBuilder().setValue(reportSpans ? 100 : 0))).build();
    }

    /** Publishes the listener with this HCM to both gateways and waits until both have acknowledged it. */
    static void publish(HttpConnectionManager hcm) {
        pair.publishAcked(withListener(web, hcm));
    }

    /** The cluster of {@code web} and one listener with this HCM, routing everything to it. */
    static PathPair.Config withListener(Backend web, HttpConnectionManager hcm) {
        return (cp, port) -> cp.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(listener(port, hcm)),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
    }

    static Listener listener(int port, HttpConnectionManager hcm) {
        return Listener.newBuilder().setName("http").setAddress(Xds.address("127.0.0.1", port))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
    }

    static HttpResponse<String> get(int port, String path, String id) throws Exception {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("x-request-id", id).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static boolean logged(String id) {
        return LINES.stream().anyMatch(l -> l.contains("\"request_id\":\"" + id + "\""));
    }

    /** The traceparent the backend received, from its /headers echo. */
    static String traceparent(String body) {
        return body.lines().filter(l -> l.startsWith("traceparent: ")).findFirst().orElseThrow()
                .substring("traceparent: ".length());
    }

    @Test
    void accessLoggingDisabledForTheGatewayStopsItsLinesAndRequestsStillPassUntilItIsOnAgain() throws Exception {
        publish(pilotShape("/dev/stdout", 1.0, true));
        for (int p : pair.ports()) {
            String id = "on-" + p;
            assertEquals(200, get(p, "/hello", id).statusCode());
            await().atMost(Duration.ofSeconds(5)).until(() -> logged(id));
        }

        // Telemetry accessLogging: [{disabled: true}] for the gateway: pilot sends no access_log (the local setting is on).
        publish(pilotShape(null, 1.0, true));
        for (int p : pair.ports()) {
            for (int i = 0; i < 5; i++) {
                assertEquals(200, get(p, "/hello", "off-" + p + "-" + i).statusCode());
            }
        }

        // Removed: pilot sends the access log again, and the same gateways log again.
        publish(pilotShape("/dev/stdout", 1.0, true));
        for (int p : pair.ports()) {
            String id = "again-" + p;
            assertEquals(200, get(p, "/hello", id).statusCode());
            await().atMost(Duration.ofSeconds(5)).until(() -> logged(id));
        }
        // The requests made while it was off were never logged (each line is written before the next request starts).
        for (int p : pair.ports()) {
            for (int i = 0; i < 5; i++) {
                assertFalse(logged("off-" + p + "-" + i), "logged while access logging was disabled");
            }
        }
    }

    @Test
    void theHcmsSamplingPercentageDecidesWhetherNewTracesAreSampled() throws Exception {
        publish(pilotShape(null, 100, true));
        for (int p : pair.ports()) {
            for (int i = 0; i < 20; i++) {
                String tp = traceparent(get(p, "/headers", "all-" + i).body());
                assertTrue(tp.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01"), "sampled at 100%: " + tp);
            }
        }
        publish(pilotShape(null, 0, true));
        for (int p : pair.ports()) {
            for (int i = 0; i < 20; i++) {
                String tp = traceparent(get(p, "/headers", "none-" + i).body());
                assertTrue(tp.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00"), "never sampled at 0%: " + tp);
            }
        }
        // A caller's sampling decision is kept, whatever the percentage.
        String incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        for (int p : pair.ports()) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + p + "/headers")).header("traceparent", incoming).build(),
                    HttpResponse.BodyHandlers.ofString());
            String tp = traceparent(r.body());
            assertTrue(tp.startsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-") && tp.endsWith("-01"), tp);
        }
    }

    @Test
    void anHcmWithoutAccessLogOrTracingKeepsTheGatewaysLocalSettings() throws Exception {
        publish(Xds.hcm("http.80"));
        for (int p : pair.ports()) {
            String id = "local-" + p;
            for (int i = 0; i < 10; i++) {
                HttpResponse<String> r = get(p, "/headers", id + "-" + i);
                assertTrue(traceparent(r.body()).endsWith("-01"), "the local 100%: " + r.body());
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> logged(id + "-9"));
        }
    }

    @Test
    void anAccessLoggerTheGatewayCannotServeIsNackedWithTheReason() throws Exception {
        publish(pilotShape("/dev/stdout", 1.0, true));
        HttpConnectionManager grpcLogger = Xds.hcm("http.80").toBuilder().addAccessLog(AccessLog.newBuilder()
                .setName("envoy.access_loggers.http_grpc").setTypedConfig(Any.pack(
                        io.envoyproxy.envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig.getDefaultInstance())))
                .build();
        pair.nacked(withListener(web, grpcLogger), "unsupported access logger envoy.access_loggers.http_grpc"
                + " (type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig)");
        pair.nacked(withListener(web, pilotShape("/var/log/access.log", 1.0, true)), "access log envoy.access_loggers.file: the access log is"
                + " written to stdout only, not to \"/var/log/access.log\" (use /dev/stdout)");
        // The last good listener keeps serving.
        assertEquals(200, get(pair.port, "/hello", "after-nack").statusCode());
    }

}
