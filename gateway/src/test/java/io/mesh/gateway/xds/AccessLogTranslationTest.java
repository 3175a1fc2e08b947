package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.config.accesslog.v3.StatusCodeFilter;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.gateway.model.ChainTelemetry;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The access_log of an HCM or a tcp_proxy as the gateway reads it: Envoy's CEL filter (istiod's shape for Telemetry's
 * filter) compiled once; any other filter, or an expression that does not compile, rejected with the reason.
 */
class AccessLogTranslationTest {

    static AccessLog log(AccessLogFilter filter) {
        AccessLog.Builder b = AccessLog.newBuilder().setName("envoy.access_loggers.file")
                .setTypedConfig(Any.pack(FileAccessLog.newBuilder().setPath("/dev/stdout").build()));
        return filter == null ? b.build() : b.setFilter(filter).build();
    }

    static AccessLogFilter cel(String expression) {
        return AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder()
                .setName("envoy.access_loggers.extension_filters.cel")
                .setTypedConfig(Any.pack(ExpressionFilter.newBuilder().setExpression(expression).build()))).build();
    }

    @Test
    void aCelFilterIsCompiledAndDecidesOverTheAttributes() throws ConfigRejected {
        io.mesh.gateway.model.AccessLogFilter f = AccessLogTranslator.entries(List.of(log(cel("response.code >= 400"))),
                "l").get(0).filter();
        assertTrue(f.test((root, field) -> root.equals("response") ? 503L : null));
        assertFalse(f.test((root, field) -> root.equals("response") ? 200L : null));
        assertFalse(f.test((root, field) -> null), "no response code (a TCP connection): false, as Envoy's");
    }

    @Test
    void eachAccessLogKeepsItsOwnFilterAndALogWithoutOneLogsEverything() throws ConfigRejected {
        assertTrue(AccessLogTranslator.entries(List.of(), "l").isEmpty());
        List<io.mesh.gateway.model.AccessLogEntry> two = AccessLogTranslator.entries(
                List.of(log(cel("response.code >= 400")), log(null)), "l");
        assertEquals(2, two.size());
        assertFalse(two.get(0).filter().test((root, field) -> root.equals("response") ? 200L : null));
        assertNull(two.get(1).filter());
    }

    @Test
    void anotherKindOfFilterOrABadExpressionIsRejectedWithTheReason() {
        ConfigRejected status = assertThrows(ConfigRejected.class, () -> AccessLogTranslator.entries(List.of(log(
                AccessLogFilter.newBuilder().setStatusCodeFilter(StatusCodeFilter.getDefaultInstance()).build())), "l"));
        assertEquals("l: access log envoy.access_loggers.file: filter STATUS_CODE_FILTER is not supported (Envoy's CEL"
                + " extension filter, as istiod writes Telemetry's filter, is)", status.getMessage());
        ConfigRejected bad = assertThrows(ConfigRejected.class,
                () -> AccessLogTranslator.entries(List.of(log(cel("request.nope == 1"))), "l"));
        assertTrue(bad.getMessage().startsWith("l: access log envoy.access_loggers.file: CEL filter does not compile:"
                + " unknown attribute \"request.nope\""), bad.getMessage());
    }

    @Test
    void aTcpProxysAccessLogBecomesItsChainsTelemetryAndNoneLeavesNone() throws ConfigRejected {
        ChainTelemetry t = TcpProxyIdleTimeoutTranslationTest.chain(TcpProxy.newBuilder()
                .addAccessLog(log(cel("xds.cluster_name == 'db'")))).telemetry();
        assertTrue(t.accessLog());
        assertTrue(t.accessLogs().get(0).filter().test((root, field) -> root.equals("xds") ? "db" : null));
        assertNull(TcpProxyIdleTimeoutTranslationTest.chain(TcpProxy.newBuilder()).telemetry());
        ConfigRejected bad = assertThrows(ConfigRejected.class, () -> TcpProxyIdleTimeoutTranslationTest.chain(
                TcpProxy.newBuilder().addAccessLog(log(cel("xds.cluster_name ==")))));
        assertTrue(bad.getMessage().contains("tcp_proxy: access log envoy.access_loggers.file: CEL filter does not compile"),
                bad.getMessage());
    }
}
