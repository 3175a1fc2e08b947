package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static io.mesh.pilot.generator.TelemetryTest.WEB_POD;
import static io.mesh.pilot.generator.TelemetryTest.telemetry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.mesh.config.PolicyConfig;
import io.mesh.pilot.PilotConfig;
import io.mesh.pilot.model.AccessLogFormats;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * MeshConfig {@code accessLogEncoding}, {@code accessLogFormat} and {@code extensionProviders[].envoyFileAccessLog} as
 * istiod writes them into the FileAccessLog's {@code log_format} (pilot/pkg/model/telemetry_logging.go): read from
 * pilot's settings ({@code mesh.pilot.access-log-encoding}, {@code .access-log-format}, {@code .extension-providers}),
 * into the listeners a router and a sidecar get (HCMs and tcp_proxies), and the settings refused with the field named.
 */
class AccessLogFormatSettingsTest {
    static final String MESH = TelemetryAccessLogFilterTest.MESH;

    static AccessLogFormats formats(Map<String, String> props, List<String> skipped) {
        return new SmallRyeConfigBuilder().withMapping(PilotConfig.class)
                .withConverter(Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withSources(new PropertiesConfigSource(props, "test", 500)).build()
                .getConfigMapping(PilotConfig.class).accessLogFormats(skipped);
    }

    static MeshSettings mesh(Map<String, String> props) {
        return new MeshSettings("cluster.local", PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY, null, MeshSettings.STDOUT,
                1.0, false, null, formats(props, new ArrayList<>()));
    }

    static FileAccessLog file(AccessLog log) {
        assertEquals("envoy.access_loggers.file", log.getName());
        return unpack(log.getTypedConfig(), FileAccessLog.class);
    }

    /** The one access log of the router's HCM. */
    static FileAccessLog routerLog(MeshSnapshot s) {
        List<AccessLog> logs = TelemetryTest.router(s).getAccessLogList();
        assertEquals(1, logs.size(), logs.toString());
        return file(logs.get(0));
    }

    static String text(FileAccessLog f) {
        assertTrue(f.getLogFormat().hasTextFormatSource(), f.toString());
        return f.getLogFormat().getTextFormatSource().getInlineString();
    }

    static String label(Struct s, String key) {
        return s.getFieldsOrThrow(key).getStringValue();
    }

    @Test
    void byDefaultTheMeshsLogIsIstiosTextFormatOnEveryHcmAndTcpProxy() {
        MeshSnapshot s = snapshot(MESH, mesh(Map.of()));
        String istioText = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE%"
                + " %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%"
                + " \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%"
                + " %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\""
                + " \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW%"
                + " %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%"
                + " %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";
        assertEquals("/dev/stdout", routerLog(s).getPath());
        assertEquals(istioText, text(routerLog(s)));
        assertEquals(istioText, text(file(TelemetryTest.inbound(WEB_POD, s).getAccessLog(0))));
        for (boolean inbound : List.of(true, false)) {
            TelemetryAccessLogFilterTest.tcpLogs(WEB_POD, s, inbound).forEach(l -> assertEquals(istioText, text(file(
                    l.get(0)))));
        }
    }

    @Test
    void jsonEncodingIsIstiosJsonLabelsUnsorted() {
        MeshSnapshot s = snapshot(MESH, mesh(Map.of("mesh.pilot.access-log-encoding", "JSON")));
        SubstitutionFormatString f = routerLog(s).getLogFormat();
        assertTrue(f.hasJsonFormat(), f.toString());
        assertFalse(f.getJsonFormatOptions().getSortProperties());
        Struct labels = f.getJsonFormat();
        assertEquals(24, labels.getFieldsCount(), labels.toString());
        assertEquals("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", label(labels, "path"));
        assertEquals("%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", label(labels, "upstream_service_time"));
        assertEquals("%UPSTREAM_CLUSTER_RAW%", label(labels, "upstream_cluster"));
        assertEquals("%UPSTREAM_LOCAL_ADDRESS%", label(labels, "upstream_local_address"));
        assertEquals("%DOWNSTREAM_LOCAL_ADDRESS%", label(labels, "downstream_local_address"));
        TelemetryAccessLogFilterTest.tcpLogs(WEB_POD, s, false).forEach(l -> assertEquals(labels,
                file(l.get(0)).getLogFormat().getJsonFormat()));
    }

    @Test
    void aCustomFormatIsTheTextWithIstiosNewlineOrTheJsonLabels() {
        MeshSnapshot text = snapshot(MESH, mesh(Map.of("mesh.pilot.access-log-format", "%REQ(:METHOD)% %RESPONSE_CODE%")));
        assertEquals("%REQ(:METHOD)% %RESPONSE_CODE%\n", text(routerLog(text)));
        MeshSnapshot json = snapshot(MESH, mesh(Map.of("mesh.pilot.access-log-encoding", "JSON",
                "mesh.pilot.access-log-format", "{\"code\": \"%RESPONSE_CODE%\", \"app\": {\"id\": 7}}")));
        Struct labels = routerLog(json).getLogFormat().getJsonFormat();
        assertEquals("%RESPONSE_CODE%", label(labels, "code"));
        assertEquals(7.0, labels.getFieldsOrThrow("app").getStructValue().getFieldsOrThrow("id").getNumberValue());
        assertEquals(2, labels.getFieldsCount());
    }

    @Test
    void extensionProvidersNamedByTelemetryEachWriteTheirOwnFormat() {
        List<String> skipped = new ArrayList<>();
        AccessLogFormats formats = formats(Map.of("mesh.pilot.extension-providers", """
                - name: zipkin
                  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
                - name: plain-text
                  envoyFileAccessLog:
                    path: /dev/stdout
                    logFormat:
                      text: "%REQ(:AUTHORITY)% %RESPONSE_CODE%"
                - name: json-labels
                  envoyFileAccessLog:
                    logFormat:
                      labels:
                        code: "%RESPONSE_CODE%"
                        peer: "%DOWNSTREAM_REMOTE_ADDRESS%"
                - name: istio-default
                  envoyFileAccessLog: {path: /dev/stdout}
                - name: envoy-default
                  envoyFileAccessLog: {logFormat: {}}
                """), skipped);
        assertEquals(List.of("zipkin"), skipped);
        MeshSettings mesh = new MeshSettings("cluster.local", PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY, null,
                MeshSettings.STDOUT, 1.0, false, null, formats);
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                accessLogging:
                - providers: [{name: plain-text}, {name: json-labels}, {name: istio-default}, {name: envoy-default},
                              {name: undefined}]
                  filter: {expression: "response.code >= 400"}"""), mesh);
        List<AccessLog> logs = TelemetryTest.router(s).getAccessLogList();
        // one access log per provider, by name; the one the mesh does not define writes none (istiod skips it)
        assertEquals(4, logs.size(), logs.toString());
        assertTrue(file(logs.get(0)).getLogFormat().getFormatCase() == SubstitutionFormatString.FormatCase.FORMAT_NOT_SET
                && !file(logs.get(0)).hasLogFormat(), "envoy-default: no format, Envoy's default");
        assertEquals(FileAccessLogs.ISTIO_TEXT, text(file(logs.get(1))), "istio-default: istiod's text format");
        Struct labels = file(logs.get(2)).getLogFormat().getJsonFormat();
        assertEquals(Map.of("code", Value.newBuilder().setStringValue("%RESPONSE_CODE%").build(),
                "peer", Value.newBuilder().setStringValue("%DOWNSTREAM_REMOTE_ADDRESS%").build()), labels.getFieldsMap());
        assertEquals("%REQ(:AUTHORITY)% %RESPONSE_CODE%\n", text(file(logs.get(3))));
        logs.forEach(l -> assertEquals("response.code >= 400", unpack(l.getFilter().getExtensionFilter().getTypedConfig(),
                io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter.class).getExpression()));
        TelemetryAccessLogFilterTest.tcpLogs(WEB_POD, s, true).forEach(l -> assertEquals(logs, l));
    }

    @Test
    void aProviderNamedEnvoyWithoutALogFormatWritesTheMeshsFormat() {
        AccessLogFormats formats = formats(Map.of("mesh.pilot.access-log-encoding", "JSON",
                "mesh.pilot.extension-providers", "[{name: envoy, envoyFileAccessLog: {path: /dev/stdout}}]"),
                new ArrayList<>());
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                accessLogging: [{providers: [{name: envoy}]}]"""), new MeshSettings("cluster.local",
                PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY, null, "", 1.0, false, null, formats));
        assertEquals(24, routerLog(s).getLogFormat().getJsonFormat().getFieldsCount());
    }

    @Test
    void badSettingsAreRefusedNamingTheField() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> formats(Map.of("mesh.pilot.access-log-encoding",
                "JSON", "mesh.pilot.access-log-format", "[%START_TIME%] %REQ(:METHOD)%"), new ArrayList<>()))
                .getMessage().startsWith("accessLogFormat with accessLogEncoding JSON is not JSON: "));
        assertEquals("extensionProviders[0].envoyFileAccessLog.logFormat: set text or labels, not both",
                assertThrows(IllegalArgumentException.class, () -> formats(Map.of("mesh.pilot.extension-providers",
                        "[{name: a, envoyFileAccessLog: {logFormat: {text: x, labels: {a: b}}}}]"), new ArrayList<>()))
                        .getMessage());
        assertEquals("extensionProviders: provider \"B\" is defined twice",
                assertThrows(IllegalArgumentException.class, () -> formats(Map.of("mesh.pilot.extension-providers",
                        "[{name: b, envoyFileAccessLog: {}}, {name: B, envoyFileAccessLog: {}}]"), new ArrayList<>()))
                        .getMessage());
        assertEquals("extensionProviders[0].envoyFileAccessLog.omitEmptyValues is not supported (path and logFormat are)",
                assertThrows(IllegalArgumentException.class, () -> formats(Map.of("mesh.pilot.extension-providers",
                        "[{name: c, envoyFileAccessLog: {omitEmptyValues: true}}]"), new ArrayList<>())).getMessage());
    }
}
