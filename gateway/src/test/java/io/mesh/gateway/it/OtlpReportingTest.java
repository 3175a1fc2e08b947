package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.FreePorts;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * OTLP reporting through a real OpenTelemetry SDK (the one Quarkus wires to its OTLP exporter): a server
 * span per request, parented by the caller's traceparent and itself the parent the upstream sees, and
 * Istio's metrics under the OTLP names telemetry ingests.
 */
class OtlpReportingTest {

    /** A real SDK exporting every 200 ms to lists the test reads. */
    record Sdk(OpenTelemetrySdk sdk, List<SpanData> spans, List<MetricData> metrics) {
    }

    static Sdk sdk() {
        List<SpanData> spans = new CopyOnWriteArrayList<>();
        List<MetricData> metrics = new CopyOnWriteArrayList<>();
        SpanExporter spanExporter = new SpanExporter() {
            public CompletableResultCode export(Collection<SpanData> batch) {
                spans.addAll(batch);
                return CompletableResultCode.ofSuccess();
            }

            public CompletableResultCode flush() {
                return CompletableResultCode.ofSuccess();
            }

            public CompletableResultCode shutdown() {
                return CompletableResultCode.ofSuccess();
            }
        };
        MetricExporter metricExporter = new MetricExporter() {
            public CompletableResultCode export(Collection<MetricData> batch) {
                metrics.addAll(batch);
                return CompletableResultCode.ofSuccess();
            }

            public CompletableResultCode flush() {
                return CompletableResultCode.ofSuccess();
            }

            public CompletableResultCode shutdown() {
                return CompletableResultCode.ofSuccess();
            }

            public AggregationTemporality getAggregationTemporality(InstrumentType type) {
                return AggregationTemporality.CUMULATIVE;
            }
        };
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spanExporter)).build())
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(PeriodicMetricReader.builder(metricExporter)
                        .setInterval(Duration.ofMillis(200)).build()).build())
                .build();
        return new Sdk(sdk, spans, metrics);
    }

    /** Istio's standard labels of the HTTP families, as telemetry/README.md lists them (gRPC status aside). */
    static final List<String> STANDARD_HTTP_LABELS = List.of("reporter", "source_workload", "source_workload_namespace",
            "source_principal", "source_app", "source_version", "source_canonical_service", "source_canonical_revision",
            "source_cluster", "destination_workload", "destination_workload_namespace", "destination_principal",
            "destination_app", "destination_version", "destination_service", "destination_service_name",
            "destination_service_namespace", "destination_canonical_service", "destination_canonical_revision",
            "destination_cluster", "request_protocol", "response_code", "response_flags", "connection_security_policy");

    @Test
    void requestsBecomeSpansAndIstioMetricsOverTheSdk() throws Exception {
        Sdk exported = sdk();
        OpenTelemetrySdk sdk = exported.sdk();
        List<SpanData> spans = exported.spans();
        List<MetricData> metrics = exported.metrics();
        Vertx vertx = Vertx.vertx();
        Backend web = new Backend(vertx, "web");
        try (ControlPlane pilot = new ControlPlane()) {
            int port = FreePorts.next();
            pilot.set(List.of(Xds.edsCluster("outbound|80||web.demo.svc.cluster.local")),
                    List.of(Xds.endpoints("outbound|80||web.demo.svc.cluster.local", web.port)),
                    List.of(Xds.httpListener("http", port, "http.80")),
                    List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"),
                            Xds.prefixTo("/", "outbound|80||web.demo.svc.cluster.local")))), List.of());
            TestGateway gw = new TestGateway(Map.of("mesh.gateway.xds.address", pilot.address()), sdk);
            try {
                await().atMost(Duration.ofSeconds(20)).until(gw::ready);
                String trace = "0af7651916cd43dd8448eb211c80319c";
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/headers")).header("traceparent",
                        "00-" + trace + "-b7ad6b7169203331-01").build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                await().atMost(Duration.ofSeconds(5)).until(() -> !spans.isEmpty());
                SpanData span = spans.get(0);
                assertEquals(trace, span.getTraceId());
                assertEquals("b7ad6b7169203331", span.getParentSpanId());
                assertTrue(r.body().contains("traceparent: 00-" + trace + "-" + span.getSpanId() + "-01"), r.body());
                assertEquals(200L, span.getAttributes().get(AttributeKey.longKey("http.response.status_code")));
                await().atMost(Duration.ofSeconds(5)).until(() -> metrics.stream().anyMatch(m -> m.getName().equals("istio.requests")
                        && m.getLongSumData().getPoints().stream().anyMatch(p -> "web.demo.svc.cluster.local".equals(
                                p.getAttributes().get(AttributeKey.stringKey("destination_service")))
                                && "200".equals(p.getAttributes().get(AttributeKey.stringKey("response_code"))))));
                // The telemetry service tells a label a Telemetry removed from one this exporter never sent by two
                // facts (telemetry's PointLabels): the scope is io.mesh.gateway, and every point carries every standard
                // label of its family.
                MetricData requests = metrics.stream().filter(m -> m.getName().equals("istio.requests")).findFirst()
                        .orElseThrow();
                assertEquals("io.mesh.gateway", requests.getInstrumentationScopeInfo().getName());
                for (var point : requests.getLongSumData().getPoints()) {
                    for (String label : STANDARD_HTTP_LABELS) {
                        assertTrue(point.getAttributes().get(AttributeKey.stringKey(label)) != null,
                                label + " on " + point.getAttributes());
                    }
                }
                // The duration histogram may arrive in a later export than the counter: wait for it as well.
                await().atMost(Duration.ofSeconds(5)).until(() -> metrics.stream()
                        .anyMatch(m -> m.getName().equals("istio.request.duration") && m.getUnit().equals("ms")));
                // That client asked for an h2c upgrade (the Vert.x path). A plain HTTP/1.1 request takes the fast path,
                // which makes the same span, parented the same way, and passes its context upstream.
                long fastBefore = gw.gateway.dataPlane().fastPathRequests();
                HttpResponse<String> r1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/headers")).header("traceparent",
                                "00-" + trace + "-c7ad6b7169203332-01").build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r1.statusCode());
                assertEquals(fastBefore + 1, gw.gateway.dataPlane().fastPathRequests());
                await().atMost(Duration.ofSeconds(5)).until(() -> spans.size() >= 2);
                SpanData fastSpan = spans.get(1);
                assertEquals(trace, fastSpan.getTraceId());
                assertEquals("c7ad6b7169203332", fastSpan.getParentSpanId());
                assertTrue(r1.body().contains("traceparent: 00-" + trace + "-" + fastSpan.getSpanId() + "-01"), r1.body());
                assertEquals(200L, fastSpan.getAttributes().get(AttributeKey.longKey("http.response.status_code")));
                assertEquals("GET /headers", fastSpan.getName());
            } finally {
                gw.close();
                sdk.close();
            }
        } finally {
            vertx.close();
        }
    }

    @Test
    void tcpConnectionsBecomeIstiosTcpMetricsOverTheSdk() throws Exception {
        Sdk exported = sdk();
        java.net.ServerSocket echo = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        TcpServers.serve(echo, "echo", 10_000, TcpMetadataExchangeTest::echo);
        try (ControlPlane pilot = new ControlPlane()) {
            int port = FreePorts.next();
            String cluster = "outbound|5432||db.demo.svc.cluster.local";
            pilot.set(List.of(Xds.edsCluster(cluster)), List.of(Xds.endpoints(cluster, echo.getLocalPort())),
                    List.of(TcpHalfCloseOverMeshTlsTest.plainTcp("db", port, cluster)), List.of(), List.of());
            TestGateway gw = new TestGateway(Map.of("mesh.gateway.xds.address", pilot.address()), exported.sdk());
            try {
                await().atMost(Duration.ofSeconds(20)).until(gw::ready);
                byte[] hello = "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write(hello);
                    assertEquals("echo:hello", new String(TcpMetadataExchangeTest.readN(s.getInputStream(), 10),
                            java.nio.charset.StandardCharsets.US_ASCII));
                }
                // Each family under telemetry's OTLP name, with Istio's TCP labels.
                Map<String, Long> expected = Map.of("istio.tcp.connections_opened", 1L, "istio.tcp.connections_closed", 1L,
                        "istio.tcp.received_bytes", 5L, "istio.tcp.sent_bytes", 10L);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> expected.forEach((name, value) ->
                        assertEquals(value, exported.metrics().stream().filter(m -> m.getName().equals(name))
                                .flatMap(m -> m.getLongSumData().getPoints().stream())
                                .filter(p -> "tcp".equals(p.getAttributes().get(AttributeKey.stringKey("request_protocol")))
                                        && "db.demo.svc.cluster.local".equals(
                                                p.getAttributes().get(AttributeKey.stringKey("destination_service")))
                                        && "source".equals(p.getAttributes().get(AttributeKey.stringKey("reporter"))))
                                .mapToLong(p -> p.getValue()).max().orElse(0), name)));
            } finally {
                gw.close();
                exported.sdk().close();
            }
        } finally {
            echo.close();
        }
    }

    /**
     * A tcp_proxy chain with Istio's stats network filter (pilot's Telemetry metrics overrides): over OTLP and in the
     * registry, the dropped family is not recorded, the removed label is gone from its family only, and the upserted
     * label has its value.
     */
    @Test
    void tcpMetricsFollowTheChainsStatsOverridesOverTheSdk() throws Exception {
        Sdk exported = sdk();
        java.net.ServerSocket echo = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        TcpServers.serve(echo, "echo", 10_000, TcpMetadataExchangeTest::echo);
        try (ControlPlane pilot = new ControlPlane()) {
            int port = FreePorts.next();
            String cluster = "outbound|5432||db.demo.svc.cluster.local";
            com.google.protobuf.Struct.Builder config = com.google.protobuf.Struct.newBuilder();
            com.google.protobuf.util.JsonFormat.parser().merge("""
                    {"metrics": [
                      {"name": "tcp_connections_opened_total", "drop": true},
                      {"name": "tcp_connections_closed_total", "tags_to_remove": ["request_protocol"]},
                      {"name": "tcp_received_bytes_total", "dimensions": {"via": "'cluster:' + xds.cluster_name"}}]}
                    """, config);
            io.envoyproxy.envoy.config.listener.v3.Listener plain = TcpHalfCloseOverMeshTlsTest.plainTcp("db", port, cluster);
            io.envoyproxy.envoy.config.listener.v3.Listener withStats = plain.toBuilder().setFilterChains(0,
                    plain.getFilterChains(0).toBuilder().addFilters(0, io.envoyproxy.envoy.config.listener.v3.Filter
                            .newBuilder().setName("istio.stats").setTypedConfig(com.google.protobuf.Any.pack(
                                    com.github.xds.type.v3.TypedStruct.newBuilder()
                                            .setTypeUrl("type.googleapis.com/stats.PluginConfig").setValue(config)
                                            .build())))).build();
            pilot.set(List.of(Xds.edsCluster(cluster)), List.of(Xds.endpoints(cluster, echo.getLocalPort())),
                    List.of(withStats), List.of(), List.of());
            TestGateway gw = new TestGateway(Map.of("mesh.gateway.xds.address", pilot.address()), exported.sdk());
            try {
                await().atMost(Duration.ofSeconds(20)).until(gw::ready);
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    assertEquals("echo:hello", new String(TcpMetadataExchangeTest.readN(s.getInputStream(), 10),
                            java.nio.charset.StandardCharsets.US_ASCII));
                }
                java.util.function.Function<String, List<io.opentelemetry.api.common.Attributes>> points = name ->
                        exported.metrics().stream().filter(m -> m.getName().equals(name))
                                .flatMap(m -> m.getLongSumData().getPoints().stream()).map(p -> p.getAttributes()).toList();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    assertFalse(points.apply("istio.tcp.received_bytes").isEmpty());
                    assertFalse(points.apply("istio.tcp.connections_closed").isEmpty());
                });
                // The open is counted with the first bytes (when the connection's meters are chosen), so it would be in
                // the export that has the received bytes: the dropped family is not exported at all.
                assertEquals(List.of(), points.apply("istio.tcp.connections_opened"));
                for (var a : points.apply("istio.tcp.connections_closed")) {
                    assertEquals(null, a.get(AttributeKey.stringKey("request_protocol")), a.toString());
                    assertEquals("db.demo.svc.cluster.local", a.get(AttributeKey.stringKey("destination_service")));
                }
                for (var a : points.apply("istio.tcp.received_bytes")) {
                    assertEquals("cluster:" + cluster, a.get(AttributeKey.stringKey("via")), a.toString());
                    assertEquals("tcp", a.get(AttributeKey.stringKey("request_protocol")), a.toString());
                }
                for (var a : points.apply("istio.tcp.sent_bytes")) {
                    assertEquals("tcp", a.get(AttributeKey.stringKey("request_protocol")), a.toString());
                    assertEquals(null, a.get(AttributeKey.stringKey("via")), a.toString());
                }
                // The Micrometer side agrees: no opened counter, the closed one without the label.
                assertEquals(0, gw.registry.find("istio_tcp_connections_opened").counters().size());
                await().atMost(Duration.ofSeconds(5)).until(() -> gw.registry.find("istio_tcp_connections_closed")
                        .counters().stream().anyMatch(c -> c.count() == 1 && c.getId().getTag("request_protocol") == null));
            } finally {
                gw.close();
                exported.sdk().close();
            }
        } finally {
            echo.close();
        }
    }
}
