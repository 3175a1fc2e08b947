package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode: a Telemetry with an access log filter written into the config folder puts Envoy's CEL filter on the access
 * log of a sidecar's tcp_proxy (its passthrough chain); editing the filter away leaves the plain access log; a file whose
 * expression does not parse is rejected and the last good filter stays.
 */
class LocalFolderAccessLogFilterTest {

    @TempDir
    Path dir;

    static String telemetry(String expression) {
        return LocalFolderTelemetryMetricsTest.telemetry("accessLogging:\n- providers: [{name: envoy}]\n"
                + (expression == null ? "" : "  filter: {expression: \"" + expression + "\"}\n"));
    }

    /** The passthrough tcp_proxy's access log filter expressions ("" for a log without a filter). */
    static List<String> filters(DiscoveryResponse lds) throws Exception {
        for (var any : lds.getResourcesList()) {
            Listener l = any.unpack(Listener.class);
            if (l.getName().equals("virtualOutbound")) {
                for (Filter f : l.getFilterChains(0).getFiltersList()) {
                    if (f.getName().equals("envoy.filters.network.tcp_proxy")) {
                        List<String> out = new java.util.ArrayList<>();
                        for (AccessLog log : f.getTypedConfig().unpack(TcpProxy.class).getAccessLogList()) {
                            out.add(log.hasFilter() ? log.getFilter().getExtensionFilter().getTypedConfig()
                                    .unpack(ExpressionFilter.class).getExpression() : "");
                        }
                        return out;
                    }
                }
            }
        }
        throw new AssertionError("no passthrough tcp_proxy");
    }

    @Test
    void aTelemetryFileWithAnAccessLogFilterReachesTheSidecarsTcpProxyAndABrokenEditIsRejected() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("telemetry.yaml", telemetry("response.code >= 400"));
            await().atMost(Duration.ofSeconds(10)).until(() -> !harness.pilot.snapshot().telemetries().isEmpty());
            try (RawAdsClient sidecar = RawAdsClient.sidecar(harness.pilot.xdsPort(), "10.1.0.1", "client-1", "demo")) {
                sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
                assertEquals(List.of("response.code >= 400"), filters(sidecar.nextOf(Resources.V3.LISTENER_TYPE_URL,
                        List.of())));

                harness.write("telemetry.yaml", telemetry(null));
                await().atMost(Duration.ofSeconds(10)).until(() -> List.of("")
                        .equals(filters(sidecar.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of()))));

                harness.write("telemetry.yaml", telemetry("xds.cluster_name == 'db'"));
                await().atMost(Duration.ofSeconds(10)).until(() -> List.of("xds.cluster_name == 'db'")
                        .equals(filters(sidecar.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of()))));
                // A broken edit: rejected, so the snapshot keeps the last good Telemetry and its filter.
                harness.write("telemetry.yaml", telemetry("xds.cluster_name =="));
                await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.store().status().stream()
                        .anyMatch(st -> st.rejectedReason() != null && st.rejectedReason().contains("filter.expression")));
                assertEquals("xds.cluster_name == 'db'", harness.pilot.snapshot().telemetries().get(0).accessLogging()
                        .get(0).filter());
            }
        }
    }
}
