package io.mesh.telemetry.ingest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.Code;
import io.mesh.telemetry.OtlpFixtures;
import io.mesh.telemetry.IstioPromtool;
import io.mesh.testing.Promtool;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.trace.v1.Span;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

@QuarkusTest
class OtlpHttpReceiverTest {

    @Inject
    OtlpHttpReceiver receiver;
    @Inject
    IngestLimiter limiter;

    private String otlp(String path) {
        return "http://127.0.0.1:" + receiver.port() + path;
    }

    @Test
    void protobufSpansAreStoredAndQueryableByTraceId() throws Exception {
        String traceId = OtlpFixtures.randomTraceId();
        String root = OtlpFixtures.randomSpanId();
        byte[] body = OtlpFixtures.traces("http-proto-svc", List.of(
                OtlpFixtures.span(traceId, root, "", "checkout", Span.SpanKind.SPAN_KIND_SERVER, 1_000, 5_000_000, false),
                OtlpFixtures.span(traceId, OtlpFixtures.randomSpanId(), root, "db", Span.SpanKind.SPAN_KIND_CLIENT,
                        2_000, 1_000_000, true))).toByteArray();

        byte[] response = given().contentType(OtlpHttpReceiver.PROTOBUF).body(body).post(otlp("/v1/traces"))
                .then().statusCode(200).contentType(OtlpHttpReceiver.PROTOBUF).extract().asByteArray();
        assertEquals(ExportTraceServiceResponse.getDefaultInstance(), ExportTraceServiceResponse.parseFrom(response));

        given().get("/api/traces/" + traceId).then().statusCode(200)
                .body("spans.size()", equalTo(2))
                .body("spans[0].name", equalTo("checkout"))
                .body("spans[1].error", equalTo(true))
                .body("spans[0].service", equalTo("http-proto-svc"));
    }

    @Test
    void jsonSpansWithHexIdsAreAccepted() {
        String traceId = OtlpFixtures.randomTraceId();
        String json = """
                {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},
                  "scopeSpans":[{"scope":{"name":"manual"},"spans":[{"traceId":"%s","spanId":"0102030405060708",
                  "name":"GET /json","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"3000000",
                  "futureField":"ignored","status":{"code":2}}]}]}]}""".formatted(traceId);
        given().contentType("application/json; charset=utf-8").body(json).post(otlp("/v1/traces"))
                .then().statusCode(200).contentType(OtlpHttpReceiver.JSON);

        given().get("/api/traces/" + traceId).then().statusCode(200)
                .body("spans[0].spanId", equalTo("0102030405060708"))
                .body("spans[0].kind", equalTo("server"))
                .body("spans[0].error", equalTo(true));
        given().queryParam("service", "json-svc").queryParam("errorsOnly", "true").get("/api/traces")
                .then().statusCode(200).body("traces.traceId", hasItem(traceId));
    }

    @Test
    void gzippedProtobufIsAccepted() throws Exception {
        String traceId = OtlpFixtures.randomTraceId();
        byte[] body = OtlpFixtures.traces("gzip-svc", List.of(OtlpFixtures.span(traceId, OtlpFixtures.randomSpanId(),
                "", "gz", Span.SpanKind.SPAN_KIND_SERVER, 1, 10, false))).toByteArray();
        ByteArrayOutputStream gzipped = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(gzipped)) {
            gzip.write(body);
        }
        given().contentType(OtlpHttpReceiver.PROTOBUF).header("Content-Encoding", "gzip").body(gzipped.toByteArray())
                .post(otlp("/v1/traces")).then().statusCode(200);
        given().get("/api/traces/" + traceId).then().statusCode(200).body("spans[0].name", equalTo("gz"));
    }

    @Test
    void jsonIstioMetricsAreServedOnQMetricsAndPassPromtool() {
        String json = """
                {"resourceMetrics":[{"resource":{"attributes":[
                  {"key":"reporter","value":{"stringValue":"destination"}},
                  {"key":"destination_workload","value":{"stringValue":"json-ratings-v1"}},
                  {"key":"destination_workload_namespace","value":{"stringValue":"default"}}]},
                  "scopeMetrics":[{"metrics":[{"name":"istio.requests","sum":{"aggregationTemporality":1,
                    "isMonotonic":true,"dataPoints":[{"asInt":"7","attributes":[
                      {"key":"destination_service","value":{"stringValue":"json-ratings.default.svc.cluster.local"}},
                      {"key":"source_workload","value":{"stringValue":"reviews-v2"}},
                      {"key":"response_code","value":{"intValue":"200"}}]}]}}]}]}]}""";
        given().contentType(OtlpHttpReceiver.JSON).body(json).post(otlp("/v1/metrics"))
                .then().statusCode(200).body(equalTo("{}"));

        String metrics = given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics").then().statusCode(200)
                .extract().asString();
        assertTrue(metrics.contains("istio_requests_total{reporter=\"destination\",source_workload=\"reviews-v2\","),
                metrics);
        assertTrue(metrics.contains("destination_service=\"json-ratings.default.svc.cluster.local\""));
        assertTrue(metrics.contains("response_code=\"200\",grpc_response_status=\"unknown\""));
        IstioPromtool.assertValidMetrics(metrics);
    }

    @Test
    void wrongMetricTypeIsAPartialSuccess() {
        String json = """
                {"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"istio.requests","gauge":{
                  "dataPoints":[{"asInt":"1"}]}}]}]}]}""";
        given().contentType(OtlpHttpReceiver.JSON).body(json).post(otlp("/v1/metrics"))
                .then().statusCode(200)
                .body("partialSuccess.rejectedDataPoints", equalTo("1"))
                .body("partialSuccess.errorMessage", containsString("istio.requests must be a Sum"));
    }

    @Test
    void malformedProtobufIs400WithAStatus() throws Exception {
        byte[] response = given().contentType(OtlpHttpReceiver.PROTOBUF).body(new byte[] {0x0a, 0x7f, 0x01})
                .post(otlp("/v1/traces")).then().statusCode(400).contentType(OtlpHttpReceiver.PROTOBUF)
                .extract().asByteArray();
        com.google.rpc.Status status = com.google.rpc.Status.parseFrom(response);
        assertEquals(Code.INVALID_ARGUMENT_VALUE, status.getCode());
        assertTrue(status.getMessage().contains("invalid OTLP protobuf"), status.getMessage());
    }

    @Test
    void malformedJsonIs400() {
        given().contentType(OtlpHttpReceiver.JSON).body("{\"resourceSpans\": [ {").post(otlp("/v1/traces"))
                .then().statusCode(400).body("code", equalTo(3)).body("message", containsString("invalid JSON"));
        given().contentType(OtlpHttpReceiver.JSON).body("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":"
                + "[{\"traceId\":\"not-hex\"}]}]}]}").post(otlp("/v1/traces"))
                .then().statusCode(400).body("message", containsString("traceId is not a hex string"));
    }

    @Test
    void oversizedRequestIs413() {
        byte[] body = new byte[4 * 1024 * 1024 + 1];
        Response response = given().contentType(OtlpHttpReceiver.PROTOBUF).body(body).post(otlp("/v1/metrics"));
        assertEquals(413, response.statusCode());
    }

    @Test
    void oversizedChunkedRequestIs413AndReleasesItsReservation() throws Exception {
        java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
        byte[] big = new byte[5 << 20];
        // A stream publisher has no length: the body arrives chunked and the bound is enforced while reading.
        java.net.http.HttpResponse<String> response = client.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(otlp("/v1/traces"))).header("Content-Type", OtlpHttpReceiver.JSON)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(
                        () -> new java.io.ByteArrayInputStream(big)))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(413, response.statusCode());
        assertTrue(response.body().contains("RESOURCE_EXHAUSTED") || response.body().contains("\"code\":8"),
                response.body());
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> limiter.inFlightBytes() == 0);
    }

    @Test
    void overloadIs429WithRetryAfterAndRecovers() {
        long taken = limiter.capacity() - limiter.inFlightBytes();
        assertTrue(limiter.tryAcquire(taken));
        try {
            given().contentType(OtlpHttpReceiver.JSON).body("{}").post(otlp("/v1/traces"))
                    .then().statusCode(429).header("Retry-After", "1").body("code", equalTo(Code.UNAVAILABLE_VALUE));
        } finally {
            limiter.release(taken);
        }
        given().contentType(OtlpHttpReceiver.JSON).body("{}").post(otlp("/v1/traces")).then().statusCode(200);
    }

    @Test
    void unknownPathsAndMediaTypesAreRefused() {
        given().contentType(OtlpHttpReceiver.JSON).body("{}").post(otlp("/v1/logs")).then().statusCode(404);
        given().contentType("text/plain").body("hi").post(otlp("/v1/traces")).then().statusCode(415);
        given().get(otlp("/v1/traces")).then().statusCode(405);
    }

    @Test
    void cumulativeCountersFromOneProxyAreNotDoubleCounted() {
        Map<String, String> labels = Map.of("reporter", "source", "source_workload", "cumul-client",
                "destination_service", "cumul.default.svc.cluster.local", "response_code", "200");
        for (long total : new long[] {5, 12, 12, 20}) {
            byte[] body = OtlpFixtures.metrics(Map.of("service.instance.id", "proxy-1"),
                    OtlpFixtures.requests(labels, total, AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE))
                    .toByteArray();
            given().contentType(OtlpHttpReceiver.PROTOBUF).body(body).post(otlp("/v1/metrics")).then().statusCode(200);
        }
        String metrics = given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics").then().extract().asString();
        String line = metrics.lines().filter(l -> l.startsWith("istio_requests_total{")
                && l.contains("source_workload=\"cumul-client\"")).findFirst().orElseThrow();
        assertTrue(line.endsWith(" 20.0"), line);
    }
}
