package io.mesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The node metadata istio-agent takes from the environment (istio {@code pkg/bootstrap/config.go}
 * {@code GetNodeMetaData}): {@code ISTIO_META_*} as strings, {@code ISTIO_METAJSON_*} JSON objects merged into the
 * metadata by their top-level fields (the variable's name ignored), {@code ISTIO_METAJSON_LABELS} also the workload's
 * labels under the configured ones, and {@code ISTIO_META_CLUSTER_ID} the node's cluster; a malformed JSON value fails
 * the start, naming the variable.
 */
class NodeMetadataEnvironmentTest {

    static GatewayConfig config(Map<String, String> props) {
        return new SmallRyeConfigBuilder().withMapping(GatewayConfig.class)
                .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withSources(new PropertiesConfigSource(props, "test", 500)).build()
                .getConfigMapping(GatewayConfig.class);
    }

    static final GatewayConfig ROUTER = config(Map.of());
    static final GatewayConfig SIDECAR = config(Map.of("mesh.gateway.mode", "sidecar",
            "mesh.gateway.node.labels.version", "v3", "mesh.gateway.node.labels.team", "blue"));

    static Map<String, String> labels(Node node) {
        return node.getMetadata().getFieldsOrThrow("LABELS").getStructValue().getFieldsMap().entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().getStringValue()));
    }

    @Test
    void aJsonVariablesTopLevelFieldsAreMergedWithTheirTypesAndItsNameIgnored() {
        Struct meta = NodeMetadata.fromEnvironment(Map.of(
                "ISTIO_META_MESH_ID", "as-a-string",
                "ISTIO_METAJSON_ANNOTATIONS", "{\"sidecar.istio.io/inject\": \"true\"}",
                "ISTIO_METAJSON_EXTRA", "{\"MESH_ID\": \"from-json\", \"REPLICAS\": 3, \"ON\": true,"
                        + " \"NESTED\": {\"a\": [\"b\"]}}"));
        assertEquals("true", meta.getFieldsOrThrow("sidecar.istio.io/inject").getStringValue(),
                "istio-agent ignores the variable's name: the object's fields are the metadata's");
        assertFalse(meta.containsFields("ANNOTATIONS"));
        assertFalse(meta.containsFields("EXTRA"));
        assertEquals("from-json", meta.getFieldsOrThrow("MESH_ID").getStringValue(), "JSON after ISTIO_META_, as the agent");
        assertEquals(3.0, meta.getFieldsOrThrow("REPLICAS").getNumberValue());
        assertTrue(meta.getFieldsOrThrow("ON").getBoolValue());
        assertEquals("b", meta.getFieldsOrThrow("NESTED").getStructValue().getFieldsOrThrow("a").getListValue()
                .getValues(0).getStringValue());
    }

    @Test
    void aValueThatIsNotAJsonObjectIsAnErrorNamingTheVariable() {
        for (String bad : new String[] {"{\"a\": ", "[1, 2]", "\"text\"", "not json"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> NodeMetadata.fromEnvironment(Map.of("ISTIO_METAJSON_EXTRA", bad)), bad);
            assertTrue(e.getMessage().startsWith("ISTIO_METAJSON_EXTRA is not a JSON object"), e.getMessage());
        }
        IllegalArgumentException label = assertThrows(IllegalArgumentException.class,
                () -> NodeMetadata.labels(Map.of("ISTIO_METAJSON_LABELS", "{\"replicas\": 3}")));
        assertTrue(label.getMessage().contains("ISTIO_METAJSON_LABELS: label replicas is not a string"),
                label.getMessage());
    }

    @Test
    void theStartFailsWithTheErrorBeforeAnyPortIsOpened() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            ExecutionException e = assertThrows(ExecutionException.class, () -> Gateway.start(vertx,
                    config(Map.of("mesh.gateway.status-port", "0", "mesh.gateway.admin-port", "-1")),
                    new SimpleMeterRegistry(), null, Map.of("ISTIO_METAJSON_LABELS", "{app: ratings"))
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().startsWith("node metadata: ISTIO_METAJSON_LABELS is not a JSON object"),
                    e.getCause().getMessage());
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void jsonLabelsAreTheNodesLabelsUnderTheConfiguredOnes() {
        Map<String, String> env = Map.of("ISTIO_METAJSON_LABELS", "{\"app\": \"ratings\", \"version\": \"v2\"}");
        assertEquals(Map.of("app", "ratings", "version", "v3", "team", "blue"), labels(Gateway.node(SIDECAR, env)),
                "the configured version wins, as the pod's labels over the agent's static ones");
        assertEquals(Map.of("app", "ratings", "version", "v2"), labels(Gateway.node(ROUTER, env)),
                "a router with JSON labels takes them, not istio=ingressgateway");
        assertEquals(Map.of("istio", "ingressgateway"), labels(Gateway.node(ROUTER, Map.of())));
    }

    @Test
    void istioMetaClusterIdIsTheNodesClusterOverTheSetting() {
        Node east = Gateway.node(config(Map.of("mesh.gateway.node.cluster", "west")), Map.of("ISTIO_META_CLUSTER_ID", "east"));
        assertEquals("east", east.getMetadata().getFieldsOrThrow("CLUSTER_ID").getStringValue());
        Node west = Gateway.node(config(Map.of("mesh.gateway.node.cluster", "west")), Map.of());
        assertEquals("west", west.getMetadata().getFieldsOrThrow("CLUSTER_ID").getStringValue());
        Node empty = Gateway.node(ROUTER, Map.of("ISTIO_META_CLUSTER_ID", ""));
        assertEquals("Kubernetes", empty.getMetadata().getFieldsOrThrow("CLUSTER_ID").getStringValue(),
                "an empty one is none: the setting's default");
    }

    @Test
    void theGatewaysOwnFieldsStillWinOverJsonOnes() {
        Node n = Gateway.node(ROUTER, Map.of("ISTIO_METAJSON_X", "{\"NAMESPACE\": \"elsewhere\", \"NODE_TYPE\": \"x\","
                + " \"LABELS\": {\"a\": \"b\"}}"));
        assertEquals("istio-system", n.getMetadata().getFieldsOrThrow("NAMESPACE").getStringValue());
        assertEquals("router", n.getMetadata().getFieldsOrThrow("NODE_TYPE").getStringValue());
        assertEquals(Map.of("istio", "ingressgateway"), labels(n));
        assertEquals(Value.KindCase.STRING_VALUE, n.getMetadata().getFieldsOrThrow("NAME").getKindCase());
    }
}
