package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static io.mesh.pilot.generator.TelemetryTest.MESH;
import static io.mesh.pilot.generator.TelemetryTest.OTHER_POD;
import static io.mesh.pilot.generator.TelemetryTest.SHOP_POD;
import static io.mesh.pilot.generator.TelemetryTest.WEB_POD;
import static io.mesh.pilot.generator.TelemetryTest.inbound;
import static io.mesh.pilot.generator.TelemetryTest.outbound;
import static io.mesh.pilot.generator.TelemetryTest.router;
import static io.mesh.pilot.generator.TelemetryTest.telemetry;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Telemetry {@code metrics} -> Istio's {@code istio.stats} filter on a proxy's chains, merged as istiod merges them
 * (root namespace, namespace, workload; per side and metric), asserted on the PluginConfig JSON pilot sends.
 */
class IstioStatsTest {

    /** The PluginConfig of the stats filter of an HCM, as compact JSON, or null when it has none. */
    static String stats(HttpConnectionManager hcm) {
        List<String> names = JwtAuthnTest.names(hcm);
        if (!names.contains(IstioStats.FILTER)) {
            return null;
        }
        // Before the router, as istiod places it.
        assertEquals(names.indexOf("envoy.filters.http.router") - 1, names.indexOf(IstioStats.FILTER), names.toString());
        return json(unpack(JwtAuthnTest.filter(hcm, IstioStats.FILTER).getTypedConfig(), TypedStruct.class));
    }

    static String json(TypedStruct ts) {
        assertEquals(IstioStats.CONFIG_TYPE, ts.getTypeUrl());
        try {
            return JsonFormat.printer().omittingInsignificantWhitespace().print(ts.getValue()).replace("\\u0027", "'");
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void withoutMetricsRulesNoChainCarriesTheFilter() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", "tracing: [{randomSamplingPercentage: 10}]"));
        for (HttpConnectionManager hcm : List.of(router(s), inbound(WEB_POD, s), outbound(WEB_POD, s))) {
            assertEquals(null, stats(hcm));
        }
        Listener vo = listener(WEB_POD, s, "virtualOutbound");
        assertEquals(List.of(SidecarListenerGenerator.TCP_PROXY), vo.getFilterChains(0).getFiltersList().stream()
                .map(f -> f.getName()).toList());
    }

    @Test
    void aRemovedTagAnUpsertedTagAndADisabledMetricBecomeThePluginConfigPerSide() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                metrics:
                - providers: [{name: prometheus}]
                  overrides:
                  - match: {metric: ALL_METRICS, mode: CLIENT}
                    tagOverrides: {request_protocol: {operation: REMOVE}}
                  - match: {metric: REQUEST_COUNT}
                    tagOverrides: {team: {value: "request.headers['x-team']"}}
                  - match: {metric: REQUEST_SIZE, mode: SERVER}
                    disabled: true"""));
        String client = "{\"metrics\":["
                + "{\"name\":\"request_bytes\",\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"request_duration_milliseconds\",\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"request_messages_total\",\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"requests_total\",\"dimensions\":{\"team\":\"request.headers['x-team']\"},"
                + "\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"response_bytes\",\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"response_messages_total\",\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"tcp_connections_closed_total\",\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"tcp_connections_opened_total\",\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"tcp_received_bytes_total\",\"tags_to_remove\":[\"request_protocol\"]},"
                + "{\"name\":\"tcp_sent_bytes_total\",\"tags_to_remove\":[\"request_protocol\"]}]}";
        assertEquals(client, stats(outbound(WEB_POD, s)));
        // A gateway is a CLIENT whose Host header comes from outside the mesh.
        assertEquals(client.replace("{\"metrics\"", "{\"disable_host_header_fallback\":true,\"metrics\""), stats(router(s)));
        assertEquals("{\"disable_host_header_fallback\":true,\"metrics\":["
                + "{\"name\":\"request_bytes\",\"drop\":true},"
                + "{\"name\":\"requests_total\",\"dimensions\":{\"team\":\"request.headers['x-team']\"}}]}",
                stats(inbound(WEB_POD, s)));
        // TCP chains carry the network filter before tcp_proxy, with the same config.
        FilterChain passthrough = listener(WEB_POD, s, "virtualOutbound").getFilterChains(0);
        assertEquals(List.of(IstioStats.FILTER, SidecarListenerGenerator.TCP_PROXY),
                passthrough.getFiltersList().stream().map(f -> f.getName()).toList());
        assertEquals(client, json(unpack(passthrough.getFilters(0).getTypedConfig(), TypedStruct.class)));
    }

    @Test
    void theWorkloadOverridesTheNamespaceTagByTagAndTheNamespaceTheRoot() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                metrics:
                - overrides:
                  - match: {metric: REQUEST_COUNT}
                    tagOverrides: {team: {value: "'root'"}, source_app: {operation: REMOVE}}""")
                + telemetry("demo", "demo-ns", """
                metrics:
                - overrides:
                  - match: {metric: REQUEST_COUNT}
                    tagOverrides: {team: {value: "'demo'"}}""")
                + telemetry("demo", "web-only", """
                selector: {matchLabels: {app: web}}
                metrics:
                - overrides:
                  - match: {metric: REQUEST_COUNT, mode: SERVER}
                    disabled: true"""));
        String count = "{\"metrics\":[{\"name\":\"requests_total\","
                + "\"dimensions\":{\"team\":\"'%s'\"},\"tags_to_remove\":[\"source_app\"]%s}]}";
        // The workload's SERVER rule drops the count on its inbound side only; the team comes from the namespace.
        assertEquals("{\"disable_host_header_fallback\":true," + count.formatted("demo", ",\"drop\":true").substring(1),
                stats(inbound(WEB_POD, s)));
        assertEquals(count.formatted("demo", ""), stats(outbound(WEB_POD, s)));
        assertEquals(count.formatted("demo", ""), stats(outbound(OTHER_POD, s)));
        assertEquals(count.formatted("root", ""), stats(outbound(SHOP_POD, s)));
    }

    @Test
    void allMetricsDisabledDropsEveryStandardMetricUntilALaterRuleEnablesThem() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                metrics: [{overrides: [{match: {metric: ALL_METRICS}, disabled: true}]}]""")
                + telemetry("shop", "shop-ns", """
                metrics: [{overrides: [{match: {metric: REQUEST_COUNT}, disabled: false}]}]"""));
        String off = stats(outbound(WEB_POD, s));
        for (String metric : IstioStats.PROMETHEUS_NAMES.values()) {
            assertEquals(true, off.contains("{\"name\":\"" + metric + "\",\"drop\":true}"), metric + " in " + off);
        }
        assertEquals("{\"metrics\":[{\"name\":\"requests_total\"}]}", stats(outbound(SHOP_POD, s)));
        // A rule for the other side only still sends the filter, without overrides for this side.
        MeshSnapshot serverOnly = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                metrics: [{overrides: [{match: {mode: SERVER}, disabled: false}]}]"""));
        assertEquals("{}", stats(outbound(WEB_POD, serverOnly)));
    }
}
