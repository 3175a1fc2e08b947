package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.Socket;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The access log's {@code log_format} as Envoy renders it, from the xDS pilot sends: a text format
 * ({@code text_format_source.inline_string}, as istiod writes meshConfig accessLogFormat and a provider's
 * {@code logFormat.text}), JSON labels ({@code json_format}, typed: numbers stay numbers, a missing value is null), no
 * format (Envoy's default text line), Istio's default text format, two access logs each with its own filter, a
 * tcp_proxy's line, and a format with an operator the gateway does not serve NACKed with the operator named while the
 * last good format keeps writing. Real gateways on both paths (fast and Vert.x), curl as the client, lines read from
 * {@code io.mesh.gateway.access}.
 */
class AccessLogFormatsTest {
    /** istiod's EnvoyTextLogFormat (pilot/pkg/model/telemetry_logging.go), its default for accessLogEncoding TEXT. */
    static final String ISTIO_TEXT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\""
            + " %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%"
            + " \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%"
            + " %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\""
            + " \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW%"
            + " %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%"
            + " %ROUTE_NAME%\n";
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static final Map<String, CompletableFuture<Void>> ECHO_CLOSED = new ConcurrentHashMap<>();
    static Vertx vertx;
    static Backend web;
    static int echo;
    /** An upstream that answers with HTTP/1.1 trailers (chunked), as a gRPC server sends its status. */
    static int trailers;
    static PathPair pair;
    /** Each gateway's tcp_proxy listener, the fast path's first. */
    static final int[] TCP = {FreePorts.next(), FreePorts.next()};

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        vertx = Vertx.vertx();
        web = new Backend(vertx, "web");
        echo = TcpProxyFixtures.echo(vertx, ECHO_CLOSED);
        trailers = FreePorts.next();
        vertx.createHttpServer().requestHandler(req -> req.response().setChunked(true).putHeader("x-kind", "trailed")
                .putTrailer("x-checksum", "c0ffee").end("with trailers")).listen(trailers, "127.0.0.1")
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        pair = new PathPair();
        pair.publish(config(List.of(log(text("%REQ(X-TAG)%")))));
        pair.start(Map.of(), null);
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
        pair.close();
        web.close();
        vertx.close();
    }

    static SubstitutionFormatString text(String format) {
        return SubstitutionFormatString.newBuilder().setTextFormatSource(DataSource.newBuilder()
                .setInlineString(format)).build();
    }

    static SubstitutionFormatString json(Map<String, String> labels) {
        Struct.Builder s = Struct.newBuilder();
        labels.forEach((k, v) -> s.putFields(k, Value.newBuilder().setStringValue(v).build()));
        return SubstitutionFormatString.newBuilder().setJsonFormat(s).build();
    }

    /** pilot's file access log to stdout in {@code format} (null: no log_format). */
    static AccessLog log(SubstitutionFormatString format) {
        FileAccessLog.Builder f = FileAccessLog.newBuilder().setPath("/dev/stdout");
        if (format != null) {
            f.setLogFormat(format);
        }
        return AccessLog.newBuilder().setName("envoy.access_loggers.file").setTypedConfig(Any.pack(f.build())).build();
    }

    static AccessLog filtered(AccessLog log, String expression) {
        return log.toBuilder().setFilter(AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder()
                .setName("envoy.access_loggers.extension_filters.cel")
                .setTypedConfig(Any.pack(ExpressionFilter.newBuilder().setExpression(expression).build())))).build();
    }

    /**
     * The HTTP listener with these access logs on its HCM (routes /fail and / to web, route names as their prefixes),
     * and a tcp_proxy listener to the echo server whose line is a text format.
     */
    static PathPair.Config config(List<AccessLog> logs) {
        return (cp, port) -> {
            HttpConnectionManager hcm = Xds.hcm("http.80").toBuilder().addAllAccessLog(logs).build();
            int tcp = TCP[cp == pair.pilot ? 0 : 1];
            return cp.set(List.of(Xds.edsCluster("web"), Xds.edsCluster("trailers"),
                    Xds.edsCluster(TcpProxyFixtures.cluster("echo"))),
                    List.of(Xds.endpoints("web", web.port), Xds.endpoints("trailers", trailers),
                            Xds.endpoints(TcpProxyFixtures.cluster("echo"), echo)),
                    List.of(ListenerTelemetryTest.listener(port, hcm), TcpProxyFixtures.listener(tcp, "echo",
                            t -> t.addAccessLog(log(text("tcp %DOWNSTREAM_REMOTE_ADDRESS% %PROTOCOL% %RESPONSE_CODE%"
                                    + " %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %UPSTREAM_CLUSTER%"
                                    + " %UPSTREAM_HOST% %REQ(:PATH)% %ROUTE_NAME%\n"))))),
                    List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/fail", "web"),
                            retried(Xds.prefixTo("/flaky", "web")),
                            Xds.prefixTo("/trailers", "trailers"), Xds.prefixTo("/", "web")))), List.of());
        };
    }

    /** {@code route} retried once on a 5xx. */
    static io.envoyproxy.envoy.config.route.v3.Route retried(io.envoyproxy.envoy.config.route.v3.Route route) {
        return route.toBuilder().setRoute(route.getRoute().toBuilder().setRetryPolicy(
                io.envoyproxy.envoy.config.route.v3.RetryPolicy.newBuilder().setRetryOn("5xx")
                        .setNumRetries(com.google.protobuf.UInt32Value.of(1)))).build();
    }

    /** curl GET {@code path} on {@code port} with {@code x-tag: tag}; the status code. */
    static String curl(int port, String path, String tag) throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "-H", "x-tag: " + tag,
                "-H", "x-request-id: " + tag, "-A", "format-test/1.0", "http://127.0.0.1:" + port + path), null);
    }

    /** The lines that contain {@code tag}, once {@code count} of them were written. */
    static List<String> lines(String tag, int count) {
        await().atMost(Duration.ofSeconds(5)).until(() -> CAPTURE.lines.stream().filter(l -> l.contains(tag)).count()
                >= count);
        return CAPTURE.lines.stream().filter(l -> l.contains(tag)).toList();
    }

    static String line(String tag) {
        return lines(tag, 1).get(0);
    }

    @Test
    void aTextFormatRendersEnvoysCommandOperatorsOnBothPaths() throws Exception {
        pair.publishAcked(config(List.of(log(text("%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
                + " %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %BYTES_SENT% tag=%REQ(X-TAG)%"
                + " backend=%RESP(X-BACKEND)% ua=%REQ(USER-AGENT):6% %UPSTREAM_CLUSTER% route=%ROUTE_NAME%"
                + " local=%DOWNSTREAM_LOCAL_ADDRESS% up=%UPSTREAM_HOST% absent=%REQ(X-ABSENT)%"
                + " year=%START_TIME(%Y)% ct=%CONNECTION_TERMINATION_DETAILS%\n")))));
        for (int p : pair.ports()) {
            String tag = "text-" + p;
            assertEquals("200", curl(p, "/hello?q=1", tag));
            assertEquals("GET /hello?q=1 HTTP/1.1 200 - via_upstream 3 tag=" + tag + " backend=web ua=format web"
                    + " route=/ local=127.0.0.1:" + p + " up=127.0.0.1:" + web.port + " absent=-"
                    + " year=" + java.time.Year.now(java.time.ZoneOffset.UTC) + " ct=-", line(tag));
        }
    }

    @Test
    void timingsAttemptsAddressPartsAndTheHostnameOnBothPaths() throws Exception {
        pair.publishAcked(config(List.of(log(text("%REQ(X-TAG)% %RESPONSE_CODE% attempts=%UPSTREAM_REQUEST_ATTEMPT_COUNT%"
                + " rx=%RESPONSE_DURATION% tx=%RESPONSE_TX_DURATION% up=%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"
                + ":%UPSTREAM_REMOTE_PORT% port=%DOWNSTREAM_LOCAL_PORT% direct=%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%"
                + " grpc=%GRPC_STATUS% jwt=%DYNAMIC_METADATA(envoy.filters.http.jwt_authn)% host=%HOSTNAME%")))));
        for (int p : pair.ports()) {
            String tag = "timing-" + p;
            assertEquals("200", curl(p, "/", tag));
            String l = line(tag);
            assertTrue(l.matches(tag + " 200 attempts=1 rx=\\d+ tx=\\d+ up=127\\.0\\.0\\.1:" + web.port + " port=" + p
                    + " direct=127\\.0\\.0\\.1:\\d+ grpc=- jwt=- host=[^- ]\\S*"), l);
            // /flaky fails every other request, and the route retries once on a 5xx: whichever try got the 503, a
            // request answered 200 after a retry was tried twice.
            List<String> codes = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                codes.add(curl(p, "/flaky", tag + "-flaky-" + i));
            }
            assertEquals(List.of("200", "200", "200", "200"), codes);
            List<String> attempts = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                attempts.add(line(tag + "-flaky-" + i).replaceAll(".* attempts=(\\d+) .*", "$1"));
            }
            assertTrue(attempts.contains("2"), attempts.toString());
        }
    }

    @Test
    void respAndTrailerReadTheUpstreamsResponseOnBothPaths() throws Exception {
        pair.publishAcked(config(List.of(log(text("%REQ(X-TAG)% kind=%RESP(X-KIND)% sum=%TRAILER(X-CHECKSUM)%"
                + " none=%TRAILER(X-NONE)% %RESPONSE_CODE%")))));
        for (int p : pair.ports()) {
            String tag = "trailer-" + p;
            assertEquals("200", curl(p, "/trailers", tag));
            assertEquals(tag + " kind=trailed sum=c0ffee none=- 200", line(tag));
        }
    }

    @Test
    void jsonLabelsKeepNumbersAsNumbersAndAMissingValueIsNull() throws Exception {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("code", "%RESPONSE_CODE%");
        labels.put("sent", "%BYTES_SENT%");
        labels.put("duration", "%DURATION%");
        labels.put("tag", "%REQ(X-TAG)%");
        labels.put("absent", "%REQ(X-ABSENT)%");
        labels.put("mixed", "%REQ(:METHOD)% %REQ(X-ABSENT)%");
        labels.put("upstream_local", "%UPSTREAM_LOCAL_ADDRESS%");
        labels.put("flags", "%RESPONSE_FLAGS%");
        pair.publishAcked(config(List.of(log(json(labels)))));
        for (int p : pair.ports()) {
            String tag = "json-" + p;
            assertEquals("500", curl(p, "/fail", tag));
            String raw = line(tag);
            JsonObject l = new JsonObject(raw);
            assertEquals(500, l.getValue("code"), raw);
            assertEquals(("fail web").length(), ((Number) l.getValue("sent")).intValue(), raw);
            assertTrue(l.getValue("duration") instanceof Number, raw);
            assertEquals(tag, l.getString("tag"));
            assertTrue(l.containsKey("absent") && l.getValue("absent") == null, raw);
            assertEquals("GET -", l.getString("mixed"));
            assertEquals("-", l.getString("flags"));
            assertTrue(l.getString("upstream_local").matches("127\\.0\\.0\\.1:\\d+"), raw);
            assertEquals(List.of("absent", "code", "duration", "flags", "mixed", "sent", "tag", "upstream_local"),
                    List.copyOf(l.fieldNames()), "keys sorted: " + raw);
        }
    }

    @Test
    void withoutALogFormatALineIsEnvoysDefaultFormat() throws Exception {
        pair.publishAcked(config(List.of(log(null))));
        for (int p : pair.ports()) {
            String tag = "default-" + p;
            assertEquals("200", curl(p, "/plain", tag));
            String l = line(tag);
            assertTrue(l.matches("\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] \"GET /plain HTTP/1\\.1\" 200 - 0 3"
                    + " \\d+ \\d+ \"-\" \"format-test/1\\.0\" \"" + tag + "\" \"127\\.0\\.0\\.1:" + p + "\" \"127\\.0\\.0\\.1:"
                    + web.port + "\""), l);
        }
    }

    @Test
    void istiosDefaultTextFormatNamesTheDetailsAddressesAndRoute() throws Exception {
        pair.publishAcked(config(List.of(log(text(ISTIO_TEXT)))));
        for (int p : pair.ports()) {
            String tag = "istio-" + p;
            assertEquals("200", curl(p, "/istio", tag));
            String l = line(tag);
            assertTrue(l.matches("\\[[0-9T:.Z-]+\\] \"GET /istio HTTP/1\\.1\" 200 - via_upstream - \"-\" 0 3 \\d+ \\d+"
                    + " \"-\" \"format-test/1\\.0\" \"" + tag + "\" \"127\\.0\\.0\\.1:" + p + "\" \"127\\.0\\.0\\.1:" + web.port
                    + "\" web 127\\.0\\.0\\.1:\\d+ 127\\.0\\.0\\.1:" + p + " 127\\.0\\.0\\.1:\\d+ - /"), l);
        }
    }

    @Test
    void eachAccessLogWritesItsOwnLineUnderItsOwnFilter() throws Exception {
        pair.publishAcked(config(List.of(filtered(log(text("errors %REQ(X-TAG)% %RESPONSE_CODE%")),
                "response.code >= 500"), log(text("all %REQ(X-TAG)% %RESPONSE_CODE%")))));
        for (int p : pair.ports()) {
            String ok = "two-ok-" + p;
            String failed = "two-failed-" + p;
            assertEquals("200", curl(p, "/", ok));
            assertEquals("500", curl(p, "/fail", failed));
            assertEquals(List.of("errors " + failed + " 500", "all " + failed + " 500"), lines(failed, 2));
            assertEquals(List.of("all " + ok + " 200"), lines(ok, 1));
        }
    }

    @Test
    void aTcpConnectionIsLoggedInItsFormatWithoutHttpValues() throws Exception {
        pair.publishAcked(config(List.of(log(null))));
        for (int i = 0; i < 2; i++) {
            int client;
            String id = "tcp-" + i;
            try (Socket s = TcpProxyFixtures.open(TCP[i], id)) {
                client = s.getLocalPort();
            }
            ECHO_CLOSED.get(id).get(10, TimeUnit.SECONDS);
            String mark = "tcp 127.0.0.1:" + client + " ";
            String l = line(mark);
            int n = (id + "\n").length();
            assertEquals(mark + "- 0 - " + n + " " + n + " " + TcpProxyFixtures.cluster("echo") + " 127.0.0.1:" + echo
                    + " - -", l);
        }
    }

    @Test
    void anOperatorTheGatewayDoesNotServeIsNackedAndTheLastGoodFormatStays() throws Exception {
        pair.publishAcked(config(List.of(log(text("good %REQ(X-TAG)%")))));
        pair.nacked(config(List.of(log(text("bad %REQ(X-TAG)% %FILTER_STATE(upstream_peer)%")))),
                "access log envoy.access_loggers.file: log_format: command operator %FILTER_STATE% is not supported");
        pair.nacked(config(List.of(log(text("bad 100% %REQ(X-TAG)%")))),
                "log_format: Couldn't find valid command at position 7 of \"bad 100% %REQ(X-TAG)%\"");
        pair.nacked(config(List.of(log(json(Map.of("when", "%START_TIME(%Q)%"))))),
                "log_format: json_format.when: START_TIME format \"%Q\": specifier %Q is not supported");
        String tag = "kept-" + pair.port;
        assertEquals("200", curl(pair.port, "/", tag));
        assertEquals("good " + tag, line(tag));
        assertNull(CAPTURE.lines.stream().filter(l -> l.startsWith("bad")).findFirst().orElse(null));
    }
}
