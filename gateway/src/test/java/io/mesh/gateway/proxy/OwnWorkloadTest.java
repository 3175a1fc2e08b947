package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.mesh.gateway.GatewayConfig;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The proxy's own workload in its metrics and metadata exchange: the node's {@code WORKLOAD_NAME}, as Istio's stats
 * filter takes it, else the canonical service setting or the {@code app} label; app and version from the node's
 * {@code LABELS}.
 */
class OwnWorkloadTest {

    static GatewayConfig config(Map<String, String> props) {
        return new SmallRyeConfigBuilder().withMapping(GatewayConfig.class)
                .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withSources(new PropertiesConfigSource(props, "test", 500)).build()
                .getConfigMapping(GatewayConfig.class);
    }

    static Node node(String workloadName, Map<String, String> labels) {
        Struct.Builder l = Struct.newBuilder();
        labels.forEach((k, v) -> l.putFields(k, Value.newBuilder().setStringValue(v).build()));
        Struct.Builder meta = Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(l).build());
        if (workloadName != null) {
            meta.putFields("WORKLOAD_NAME", Value.newBuilder().setStringValue(workloadName).build());
        }
        return Node.newBuilder().setId("sidecar~10.0.0.1~ratings-v2-abc.demo~demo.svc.cluster.local").setMetadata(meta)
                .build();
    }

    static final GatewayConfig SIDECAR = config(Map.of("mesh.gateway.mode", "sidecar", "mesh.gateway.node.namespace",
            "demo", "mesh.gateway.canonical-service", "ratings"));

    @Test
    void theNodesWorkloadNameIsTheWorkloadAndTheCanonicalServiceStaysItsOwn() {
        OwnWorkload own = OwnWorkload.of(SIDECAR, node("ratings-v2", Map.of("app", "ratings", "version", "v2")));
        assertEquals("ratings-v2", own.workload());
        assertEquals("demo", own.namespace());
        assertEquals("ratings", own.app());
        assertEquals("v2", own.version());
        assertEquals("ratings", own.canonicalService());
        assertEquals("v2", own.canonicalRevision());
    }

    @Test
    void withoutOneTheCanonicalServiceOrTheAppLabelIsTheWorkload() {
        assertEquals("ratings", OwnWorkload.of(SIDECAR, node(null, Map.of("app", "rates"))).workload());
        assertEquals("ratings", OwnWorkload.of(SIDECAR, node("", Map.of())).workload(), "empty: none");
        GatewayConfig plain = config(Map.of("mesh.gateway.mode", "sidecar"));
        assertEquals("rates", OwnWorkload.of(plain, node(null, Map.of("app", "rates"))).workload());
        assertEquals("unknown", OwnWorkload.of(plain, node(null, Map.of())).workload());
        assertEquals("istio-ingressgateway", OwnWorkload.of(config(Map.of()), node(null, Map.of("istio", "ingressgateway")))
                .workload());
    }
}
