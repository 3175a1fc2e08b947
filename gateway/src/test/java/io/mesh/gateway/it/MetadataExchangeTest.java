package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.testing.FreePorts;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Istio's metadata exchange through real gateways driven over ADS, on the fast path and on the Vert.x path: a chain
 * with the {@code istio.metadata_exchange} filter as istiod configures it (a TypedStruct of
 * {@code io.istio.http.peer_metadata.Config}) sends the proxy's workload upstream in {@code x-envoy-peer-metadata}
 * (replacing what a client sent), strips the upstream's from the response and labels its metrics with the upstream's
 * workload; an inbound-style chain strips the downstream's and answers with its own only to a client that sent
 * its own; a chain without the filter passes the headers untouched. The upstream is a Vert.x server that answers as an
 * Istio sidecar would (its metadata a base64 Struct, as Istio's proxies write it); the client is the JDK's.
 */
class MetadataExchangeTest {

    static final String MX = "x-envoy-peer-metadata";
    static final String MX_ID = "x-envoy-peer-metadata-id";
    static Vertx vertx;
    static HttpServer upstream;
    static int upstreamPort;
    /** What the upstream received, by the request's x-request-id: its x-envoy-peer-metadata and -id values. */
    static final Map<String, List<String>> RECEIVED = new ConcurrentHashMap<>();
    static final Map<String, List<String>> RECEIVED_IDS = new ConcurrentHashMap<>();
    static PathPair pair;
    /** Per gateway: the outbound chain's port, the inbound-style chain's, the chain without the filter. */
    static final int[] FAST = {FreePorts.next(), FreePorts.next(), FreePorts.next()};
    static final int[] SLOW = {FreePorts.next(), FreePorts.next(), FreePorts.next()};

    /** The upstream's metadata, as an Istio sidecar of reviews-v2 sends it. */
    static final String REVIEWS = Base64.getEncoder().encodeToString(Struct.newBuilder()
            .putFields("NAME", str("reviews-v2-7d9f-abcde"))
            .putFields("NAMESPACE", str("bookinfo"))
            .putFields("WORKLOAD_NAME", str("reviews-v2"))
            .putFields("CLUSTER_ID", str("east"))
            .putFields("OWNER", str("kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v2"))
            .putFields("LABELS", Value.newBuilder().setStructValue(Struct.newBuilder()
                    .putFields("app", str("reviews")).putFields("version", str("v2"))
                    .putFields("service.istio.io/canonical-name", str("reviews"))
                    .putFields("service.istio.io/canonical-revision", str("v2"))).build())
            .build().toByteArray());

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        upstream = vertx.createHttpServer().requestHandler(MetadataExchangeTest::answer).listen(0, "127.0.0.1")
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        upstreamPort = upstream.actualPort();
        pair = new PathPair();
        publish(pair.pilot, FAST);
        publish(pair.pilot2, SLOW);
        pair.start(Map.of("mesh.gateway.node.namespace", "istio-system", "mesh.gateway.node.id",
                "router~10.0.0.9~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local"), null);
    }

    @AfterAll
    static void stop() throws Exception {
        if (pair != null) {
            pair.close();
        }
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    /** The upstream: records the exchange's headers; /peer answers as reviews-v2, /bad with a broken value, /chunked chunked. */
    static void answer(HttpServerRequest req) {
        req.body().onSuccess(body -> {
            String id = req.getHeader("x-request-id");
            RECEIVED.put(id, req.headers().getAll(MX));
            RECEIVED_IDS.put(id, req.headers().getAll(MX_ID));
            var resp = req.response();
            switch (req.path()) {
                case "/peer" -> resp.putHeader(MX_ID, "sidecar~10.1.2.3~reviews-v2-7d9f-abcde.bookinfo~bookinfo.svc.cluster.local")
                        .putHeader(MX, REVIEWS).end("reviewed");
                case "/chunked" -> {
                    resp.setChunked(true).putHeader(MX, REVIEWS).putHeader(MX_ID, "sidecar~x");
                    resp.write("part one ");
                    resp.end("part two");
                }
                case "/bad" -> resp.putHeader(MX, "%%% not base64 %%%").putHeader(MX_ID, "sidecar~bad").end("bad");
                default -> resp.end("plain");
            }
        });
    }

    /** istiod's filter: a TypedStruct of io.istio.http.peer_metadata.Config with its method lists. */
    static HttpFilter mxFilter(String discovery, String propagation) {
        Value headers = Value.newBuilder().setStructValue(Struct.newBuilder().putFields("istio_headers",
                Value.newBuilder().setStructValue(Struct.getDefaultInstance()).build())).build();
        Value wds = Value.newBuilder().setStructValue(Struct.newBuilder().putFields("workload_discovery",
                Value.newBuilder().setStructValue(Struct.getDefaultInstance()).build())).build();
        Struct config = Struct.newBuilder()
                .putFields(discovery, Value.newBuilder().setListValue(ListValue.newBuilder().addValues(headers).addValues(wds)).build())
                .putFields(propagation, Value.newBuilder().setListValue(ListValue.newBuilder().addValues(headers)).build())
                .build();
        return HttpFilter.newBuilder().setName("istio.metadata_exchange").setTypedConfig(Any.pack(
                com.github.xds.type.v3.TypedStruct.newBuilder()
                        .setTypeUrl("type.googleapis.com/io.istio.http.peer_metadata.Config").setValue(config).build()))
                .build();
    }

    static void publish(ControlPlane cp, int[] ports) {
        HttpConnectionManager plain = Xds.hcm("http.80");
        HttpConnectionManager outbound = plain.toBuilder().addHttpFilters(0, mxFilter("upstream_discovery", "upstream_propagation")).build();
        HttpConnectionManager inbound = plain.toBuilder().addHttpFilters(0, mxFilter("downstream_discovery", "downstream_propagation")).build();
        cp.set(List.of(Xds.edsCluster("reviews")), List.of(Xds.endpoints("reviews", upstreamPort)),
                List.of(listener("outbound", ports[0], outbound), listener("inbound", ports[1], inbound),
                        listener("plain", ports[2], plain)),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "reviews")))), List.of());
    }

    static Listener listener(String name, int port, HttpConnectionManager hcm) {
        return Listener.newBuilder().setName(name).setAddress(Xds.address("127.0.0.1", port))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
    }

    static HttpResponse<String> send(int port, String path, String id, boolean chunkedBody, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("x-request-id", id);
        if (headers.length > 0) {
            b.headers(headers);
        }
        if (chunkedBody) {
            // An InputStream of unknown length: sent chunked, so the fast path decodes the head.
            b.POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream("a body".getBytes())));
        }
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(b.build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static Struct decode(String value) throws Exception {
        return Struct.parseFrom(Base64.getDecoder().decode(value));
    }

    static String field(Struct s, String name) {
        return s.getFieldsOrThrow(name).getStringValue();
    }

    static double requestsTo(TestGateway gw, String destinationWorkload) {
        return gw.registry.find("istio_requests").tag("destination_workload", destinationWorkload).counters().stream()
                .mapToDouble(Counter::count).sum();
    }

    @Test
    void anOutboundChainSendsItsWorkloadUpstreamAndLabelsItsMetricsWithTheUpstreamsWorkload() throws Exception {
        for (TestGateway gw : new TestGateway[] {pair.fast, pair.vertxPath}) {
            int port = gw == pair.fast ? FAST[0] : SLOW[0];
            String[] cases = {"/peer", "/chunked"};
            for (int i = 0; i < 2; i++) {
                for (boolean chunkedBody : new boolean[] {false, true}) {
                    String id = "out-" + port + "-" + i + "-" + chunkedBody;
                    // A client's own exchange headers are replaced by the proxy's, never passed on.
                    HttpResponse<String> r = send(port, cases[i], id, chunkedBody, MX, "forged", MX_ID, "forged-id");
                    assertEquals(200, r.statusCode(), id);
                    assertTrue(r.body().startsWith(i == 0 ? "reviewed" : "part one"), r.body());
                    assertTrue(r.headers().firstValue(MX).isEmpty(), "the upstream's metadata is not passed to the client: " + id);
                    assertTrue(r.headers().firstValue(MX_ID).isEmpty(), id);
                    List<String> sent = RECEIVED.get(id);
                    assertEquals(1, sent.size(), "one value, the proxy's: " + sent);
                    Struct own = decode(sent.get(0));
                    assertEquals("istio-ingressgateway", field(own, "WORKLOAD_NAME"));
                    assertEquals("istio-system", field(own, "NAMESPACE"));
                    assertEquals("Kubernetes", field(own, "CLUSTER_ID"));
                    assertEquals("istio-ingressgateway",
                            own.getFieldsOrThrow("LABELS").getStructValue().getFieldsOrThrow("service.istio.io/canonical-name").getStringValue());
                    assertEquals(List.of("router~10.0.0.9~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local"),
                            RECEIVED_IDS.get(id));
                }
            }
            Counter c = gw.registry.find("istio_requests").tag("destination_workload", "reviews-v2")
                    .tag("destination_workload_namespace", "bookinfo").tag("destination_app", "reviews")
                    .tag("destination_version", "v2").tag("destination_canonical_service", "reviews")
                    .tag("destination_canonical_revision", "v2").tag("destination_cluster", "east")
                    .tag("source_workload", "istio-ingressgateway").tag("reporter", "source").counter();
            assertNotNull(c, "metrics labelled with the upstream's workload");
            // A request is counted as its exchange ends, which can be just after the client has the whole response.
            await().atMost(Duration.ofSeconds(5)).until(() -> c.count() >= 4.0);
            assertEquals(4.0, c.count(), 0.0);
        }
    }

    @Test
    void anUpstreamsMalformedMetadataLeavesItsWorkloadUnknownAndTheResponseUnharmed() throws Exception {
        for (TestGateway gw : new TestGateway[] {pair.fast, pair.vertxPath}) {
            int port = gw == pair.fast ? FAST[0] : SLOW[0];
            double before = requestsTo(gw, "unknown");
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = send(port, "/bad", "bad-" + port + "-" + i, false);
                assertEquals(200, r.statusCode());
                assertEquals("bad", r.body());
                assertTrue(r.headers().firstValue(MX).isEmpty(), "stripped even when it cannot be read");
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> requestsTo(gw, "unknown") >= before + 3);
        }
    }

    @Test
    void anInboundChainStripsTheCallersMetadataAndAnswersWithItsOwnOnlyToACallerThatSentIts() throws Exception {
        for (TestGateway gw : new TestGateway[] {pair.fast, pair.vertxPath}) {
            int port = gw == pair.fast ? FAST[1] : SLOW[1];
            for (boolean chunkedBody : new boolean[] {false, true}) {
                String id = "in-" + port + "-" + chunkedBody;
                HttpResponse<String> r = send(port, "/plain", id, chunkedBody, MX, REVIEWS, MX_ID, "sidecar~caller");
                assertEquals(200, r.statusCode());
                assertEquals(List.of(), RECEIVED.get(id), "the app never sees the caller's metadata");
                assertEquals(List.of(), RECEIVED_IDS.get(id));
                assertEquals("istio-ingressgateway", field(decode(r.headers().firstValue(MX).orElseThrow()), "WORKLOAD_NAME"));
                assertTrue(r.headers().firstValue(MX_ID).orElseThrow().startsWith("router~10.0.0.9~"));

                String silent = "in-silent-" + port + "-" + chunkedBody;
                HttpResponse<String> s = send(port, "/plain", silent, chunkedBody);
                assertEquals(200, s.statusCode());
                assertTrue(s.headers().firstValue(MX).isEmpty(), "no metadata to a caller that sent none");
                assertTrue(s.headers().firstValue(MX_ID).isEmpty());
            }
        }
    }

    @Test
    void aChainWithoutTheFilterPassesTheHeadersUntouched() throws Exception {
        for (TestGateway gw : new TestGateway[] {pair.fast, pair.vertxPath}) {
            int port = gw == pair.fast ? FAST[2] : SLOW[2];
            String id = "plain-" + port;
            HttpResponse<String> r = send(port, "/peer", id, false, MX, "from-the-client", MX_ID, "client-id");
            assertEquals(200, r.statusCode());
            assertEquals(List.of("from-the-client"), RECEIVED.get(id));
            assertEquals(List.of("client-id"), RECEIVED_IDS.get(id));
            assertEquals(REVIEWS, r.headers().firstValue(MX).orElseThrow());
            assertEquals("sidecar~10.1.2.3~reviews-v2-7d9f-abcde.bookinfo~bookinfo.svc.cluster.local",
                    r.headers().firstValue(MX_ID).orElseThrow());
        }
    }
}
