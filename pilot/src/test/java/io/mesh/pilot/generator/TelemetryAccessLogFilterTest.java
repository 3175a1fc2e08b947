package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static io.mesh.pilot.generator.TelemetryTest.OTHER_POD;
import static io.mesh.pilot.generator.TelemetryTest.WEB_POD;
import static io.mesh.pilot.generator.TelemetryTest.telemetry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Telemetry's {@code accessLogging[].filter} -> Envoy's CEL access log filter, as istiod writes it, on the HCMs and on
 * the tcp_proxy filters (which carry the same access log as the HCMs of their side), merged as istiod's mergeLogs.
 */
class TelemetryAccessLogFilterTest {
    /** Telemetry's fixture, with a TCP service the WEB pod serves: tcp_proxy chains inbound and outbound. */
    static final String MESH = TelemetryTest.MESH + SidecarFixtures.services("db", "demo", "[db.demo.svc.cluster.local]",
            "[{number: 5432, name: tcp, protocol: TCP}]", "{address: 10.0.0.1}");

    /** The file access log to {@code path} in istiod's default text format (accessLogEncoding TEXT), under the filter. */
    static AccessLog withFilter(String path, String expression) {
        AccessLog.Builder b = AccessLog.newBuilder().setName("envoy.access_loggers.file")
                .setTypedConfig(com.google.protobuf.Any.pack(FileAccessLog.newBuilder().setPath(path)
                        .setLogFormat(io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString.newBuilder()
                                .setTextFormatSource(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                                        .setInlineString(FileAccessLogs.ISTIO_TEXT))).build()));
        if (expression != null) {
            b.setFilter(AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder()
                    .setName("envoy.access_loggers.extension_filters.cel")
                    .setTypedConfig(com.google.protobuf.Any.pack(ExpressionFilter.newBuilder().setExpression(expression)
                            .build()))));
        }
        return b.build();
    }

    /** The access logs of every tcp_proxy of a sidecar's listeners on one side (INBOUND or not). */
    static List<List<AccessLog>> tcpLogs(ProxyInfo proxy, MeshSnapshot s, boolean inbound) {
        List<List<AccessLog>> out = new ArrayList<>();
        for (Listener l : SidecarListenerGenerator.generate(proxy, s)) {
            if ((l.getTrafficDirection() == TrafficDirection.INBOUND) != inbound) {
                continue;
            }
            List<io.envoyproxy.envoy.config.listener.v3.FilterChain> chains = new ArrayList<>(l.getFilterChainsList());
            if (l.hasDefaultFilterChain()) {
                chains.add(l.getDefaultFilterChain());
            }
            chains.forEach(fc -> {
                for (Filter f : fc.getFiltersList()) {
                    if (f.getName().equals(SidecarListenerGenerator.TCP_PROXY)) {
                        out.add(unpack(f.getTypedConfig(), TcpProxy.class).getAccessLogList());
                    }
                }
            });
        }
        assertFalse(out.isEmpty(), "no tcp_proxy");
        return out;
    }

    @Test
    void aFilterGoesOnEveryHcmAndTcpProxyAsEnvoysCelExtensionFilter() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                accessLogging:
                - providers: [{name: envoy}]
                  filter: {expression: "response.code >= 400"}"""));
        AccessLog expected = withFilter("/dev/stdout", "response.code >= 400");
        for (HttpConnectionManager hcm : List.of(TelemetryTest.router(s), TelemetryTest.inbound(WEB_POD, s),
                TelemetryTest.outbound(WEB_POD, s))) {
            assertEquals(List.of(expected), hcm.getAccessLogList());
        }
        for (boolean inbound : List.of(true, false)) {
            tcpLogs(WEB_POD, s, inbound).forEach(logs -> assertEquals(List.of(expected), logs));
        }
    }

    @Test
    void withoutTelemetryTcpProxiesGetTheMeshsAccessLogFileAsIstiodsFallback() {
        MeshSnapshot s = snapshot(MESH);
        tcpLogs(WEB_POD, s, false).forEach(logs -> assertEquals(List.of(withFilter("/dev/stdout", null)), logs));
        MeshSnapshot off = snapshot(MESH, new io.mesh.pilot.model.MeshSettings("cluster.local",
                io.mesh.config.PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY, "off", 1.0));
        tcpLogs(WEB_POD, off, true).forEach(logs -> assertTrue(logs.isEmpty()));
    }

    @Test
    void theWorkloadsRuleThatNamesTheProviderBringsItsFilterAndOneThatInheritsBringsNone() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                accessLogging:
                - providers: [{name: envoy}]
                  filter: {expression: "response.code >= 500"}""") + telemetry("demo", "web-only", """
                selector: {matchLabels: {app: web}}
                accessLogging:
                - providers: [{name: envoy}]
                  filter: {expression: "response.code >= 400"}"""));
        assertEquals(List.of(withFilter("/dev/stdout", "response.code >= 400")),
                TelemetryTest.inbound(WEB_POD, s).getAccessLogList());
        assertEquals(List.of(withFilter("/dev/stdout", "response.code >= 500")),
                TelemetryTest.outbound(OTHER_POD, s).getAccessLogList());
        // A rule that inherits its providers keeps the filter of the rule that named them (istiod's filters[provider]).
        MeshSnapshot inherits = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                accessLogging:
                - providers: [{name: envoy}]
                  filter: {expression: "response.code >= 500"}""") + telemetry("demo", "web-only", """
                selector: {matchLabels: {app: web}}
                accessLogging: [{disabled: false}]"""));
        assertEquals(List.of(withFilter("/dev/stdout", "response.code >= 500")),
                TelemetryTest.inbound(WEB_POD, inherits).getAccessLogList());
    }

    @Test
    void aFilterForOneSideStaysOnThatSide() {
        MeshSnapshot s = snapshot(MESH + telemetry("demo", "demo-ns", """
                accessLogging:
                - providers: [{name: envoy}]
                  match: {mode: SERVER}
                  filter: {expression: "response.code >= 400"}
                - providers: [{name: envoy}]
                  match: {mode: CLIENT}"""));
        assertEquals(List.of(withFilter("/dev/stdout", "response.code >= 400")),
                TelemetryTest.inbound(WEB_POD, s).getAccessLogList());
        tcpLogs(WEB_POD, s, true).forEach(logs -> assertEquals(List.of(withFilter("/dev/stdout", "response.code >= 400")),
                logs));
        assertEquals(List.of(withFilter("/dev/stdout", null)), TelemetryTest.outbound(WEB_POD, s).getAccessLogList());
        tcpLogs(WEB_POD, s, false).forEach(logs -> assertEquals(List.of(withFilter("/dev/stdout", null)), logs));
    }

    @Test
    void aDisabledProviderLeavesTcpProxiesWithoutAnAccessLog() {
        MeshSnapshot s = snapshot(MESH + telemetry("demo", "demo-ns", """
                accessLogging: [{providers: [{name: envoy}], disabled: true}]"""));
        tcpLogs(WEB_POD, s, true).forEach(logs -> assertTrue(logs.isEmpty()));
        tcpLogs(WEB_POD, s, false).forEach(logs -> assertTrue(logs.isEmpty()));
    }
}
