package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.mesh.testing.FreePorts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A gateway started with istio-agent's JSON metadata, cluster ID and workload name in its environment: the node its
 * ADS requests give the control plane carries them ({@code ISTIO_METAJSON_*} fields merged, typed as JSON;
 * {@code ISTIO_METAJSON_LABELS} as its {@code LABELS}; {@code ISTIO_META_CLUSTER_ID} as its {@code CLUSTER_ID}), and
 * the proxy's own side of its metrics and of the metadata exchange it sends upstream names the node's
 * {@code WORKLOAD_NAME}, cluster and labels, as Istio's stats filter does (in the Prometheus text exposition too).
 */
class NodeMetadataJsonTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        Backend reviews = MESH.backend("reviews");
        pilot = MESH.pilot();
        port = FreePorts.next();
        NodeMetadataTest.outboundWithExchange(pilot, port, reviews.port);
        Map<String, String> env = Map.of(
                "ISTIO_METAJSON_LABELS", "{\"app\": \"edge\", \"version\": \"v7\", \"istio\": \"ingressgateway\"}",
                "ISTIO_METAJSON_PLATFORM", "{\"MESH_ID\": \"mesh-1\", \"REPLICAS\": 2}",
                "ISTIO_META_CLUSTER_ID", "east",
                "ISTIO_META_WORKLOAD_NAME", "edge-gateway");
        gw = MESH.closing(TestGateway.ready(pilot, Map.of("mesh.gateway.node.namespace", "istio-system"), env,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)));
    }

    static Node node() {
        return NodeMetadataTest.firstNode(pilot);
    }

    static Map<String, String> strings(Struct s) {
        return s.getFieldsMap().entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().getStringValue()));
    }

    @Test
    void theControlPlaneGetsTheJsonFieldsTheLabelsAndTheClusterId() {
        Struct meta = node().getMetadata();
        assertEquals("mesh-1", meta.getFieldsOrThrow("MESH_ID").getStringValue());
        assertEquals(2.0, meta.getFieldsOrThrow("REPLICAS").getNumberValue(), "a JSON number stays one");
        assertEquals(Map.of("app", "edge", "version", "v7", "istio", "ingressgateway"),
                strings(meta.getFieldsOrThrow("LABELS").getStructValue()));
        assertEquals("east", meta.getFieldsOrThrow("CLUSTER_ID").getStringValue());
        assertEquals("edge-gateway", meta.getFieldsOrThrow("WORKLOAD_NAME").getStringValue());
    }

    @Test
    void theProxysOwnSideOfItsMetricsAndMetadataExchangeIsTheNodesWorkload() throws Exception {
        HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/headers")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        String value = r.body().lines().filter(l -> l.startsWith(MetadataExchangeTest.MX + ": ")).findFirst()
                .orElseThrow(() -> new AssertionError("no metadata upstream: " + r.body()))
                .substring(MetadataExchangeTest.MX.length() + 2);
        Struct sent = Struct.parseFrom(Base64.getDecoder().decode(value));
        assertEquals("edge-gateway", sent.getFieldsOrThrow("WORKLOAD_NAME").getStringValue());
        assertEquals("east", sent.getFieldsOrThrow("CLUSTER_ID").getStringValue());
        Map<String, String> labels = strings(sent.getFieldsOrThrow("LABELS").getStructValue());
        assertEquals("edge", labels.get("app"));
        assertEquals("v7", labels.get("version"));
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.registry.find("istio_requests")
                .tag("source_workload", "edge-gateway").counter() != null);
        Counter c = gw.registry.find("istio_requests").tag("reporter", "source").tag("source_workload", "edge-gateway")
                .tag("source_app", "edge").tag("source_version", "v7").tag("source_cluster", "east").counter();
        assertNotNull(c, "the proxy's side of its metrics: " + gw.registry.find("istio_requests").counters().stream()
                .map(m -> m.getId().getTags().toString()).toList());
        // As Prometheus reads it (the registry behind /q/metrics and 15020's /stats/prometheus under Quarkus).
        String exposition = ((PrometheusMeterRegistry) gw.registry).scrape();
        String line = exposition.lines().filter(l -> l.startsWith("istio_requests_total{"))
                .filter(l -> l.contains("reporter=\"source\"")).findFirst()
                .orElseThrow(() -> new AssertionError("no istio_requests_total: " + exposition));
        for (String label : List.of("source_workload=\"edge-gateway\"", "source_app=\"edge\"",
                "source_version=\"v7\"", "source_cluster=\"east\"")) {
            assertTrue(line.contains(label), label + " in " + line);
        }
    }
}
