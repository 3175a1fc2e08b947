package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode: a Telemetry with metric overrides written into the config folder puts Istio's stats filter on a
 * sidecar's chains (here its passthrough tcp_proxy chain) with the override; editing the file to drop the metrics rule
 * takes the filter off again.
 */
class LocalFolderTelemetryMetricsTest {

    @TempDir
    Path dir;

    static String telemetry(String spec) {
        return """
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                """ + spec.indent(2);
    }

    /** The passthrough chain's filters of the sidecar's virtualOutbound, as "name" or "name CONFIG_JSON". */
    static List<String> passthrough(DiscoveryResponse lds) throws Exception {
        for (var any : lds.getResourcesList()) {
            Listener l = any.unpack(Listener.class);
            if (l.getName().equals("virtualOutbound")) {
                return l.getFilterChains(0).getFiltersList().stream().map(LocalFolderTelemetryMetricsTest::describe)
                        .toList();
            }
        }
        throw new AssertionError("no virtualOutbound");
    }

    static String describe(Filter f) {
        if (!f.getName().equals("istio.stats")) {
            return f.getName();
        }
        try {
            return f.getName() + " " + JsonFormat.printer().omittingInsignificantWhitespace()
                    .print(f.getTypedConfig().unpack(TypedStruct.class).getValue());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aTelemetryFileWithMetricOverridesReachesTheSidecarAndEditingItAwayRemovesThem() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("telemetry.yaml", telemetry("""
                    metrics:
                    - overrides:
                      - match: {metric: TCP_SENT_BYTES, mode: CLIENT}
                        tagOverrides: {request_protocol: {operation: REMOVE}}"""));
            await().atMost(Duration.ofSeconds(10)).until(() -> !harness.pilot.snapshot().telemetries().isEmpty());
            try (RawAdsClient sidecar = RawAdsClient.sidecar(harness.pilot.xdsPort(), "10.1.0.1", "client-1", "demo")) {
                sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
                assertEquals(List.of("istio.stats {\"metrics\":[{\"name\":\"tcp_sent_bytes_total\","
                        + "\"tags_to_remove\":[\"request_protocol\"]}]}", "envoy.filters.network.tcp_proxy"),
                        passthrough(sidecar.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of())));

                harness.write("telemetry.yaml", telemetry("tracing: [{randomSamplingPercentage: 10}]"));
                await().atMost(Duration.ofSeconds(10)).until(() -> List.of("envoy.filters.network.tcp_proxy")
                        .equals(passthrough(sidecar.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of()))));
            }
        }
    }
}
