package io.mesh.gateway.xds;

import static io.mesh.gateway.xds.TcpPeerExchangeTranslationTest.TCP_PROXY;
import static io.mesh.gateway.xds.TcpPeerExchangeTranslationTest.listener;
import static io.mesh.gateway.xds.TcpPeerExchangeTranslationTest.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.mesh.gateway.model.StatsOverrides;
import io.mesh.gateway.model.StatsOverrides.Metric;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's {@code istio.stats} filter as pilot (and istiod) sends it, read by the gateway: {@code metrics[]} compiled
 * into per-metric drops and label changes as istio/proxy's istio_stats applies them; what cannot be served is NACKed
 * with the reason.
 */
class StatsTranslationTest {

    static Filter stats(String json) throws Exception {
        Struct.Builder s = Struct.newBuilder();
        JsonFormat.parser().merge(json, s);
        return Filter.newBuilder().setName("istio.stats").setTypedConfig(Any.pack(TypedStruct.newBuilder()
                .setTypeUrl("type.googleapis.com/stats.PluginConfig").setValue(s).build())).build();
    }

    static StatsOverrides tcp(String json) throws Exception {
        return ListenerTranslator.translate(listener(stats(json), TCP_PROXY)).chains().get(0).stats();
    }

    static final Map<String, String> STANDARD = new LinkedHashMap<>(Map.of("reporter", "source"));

    static {
        STANDARD.put("request_protocol", "tcp");
        STANDARD.put("response_flags", "-");
    }

    @Test
    void laterEntriesWinTagByTagAndAnEmptyNameMeansEveryMetric() throws Exception {
        StatsOverrides o = tcp("""
                {"disable_host_header_fallback": true, "metrics": [
                  {"tags_to_remove": ["response_flags", "not_a_standard_tag"]},
                  {"name": "tcp_sent_bytes_total", "dimensions": {"response_flags": "'x'", "zone": "'eu'", "app": "'a'"}},
                  {"name": "tcp_connections_opened_total", "drop": true, "tags_to_remove": ["reporter"]}]}""");
        assertTrue(o.dropped(Metric.TCP_OPENED));
        List<String> values = o.evaluate((root, field) -> null);
        assertEquals(List.of("a", "x", "eu"), values);   // compiled in tag-name order, as istio_stats
        // Removed everywhere; on sent bytes overridden in place, new tags after the standard ones in name order.
        assertEquals(List.of("reporter", "request_protocol"), List.copyOf(o.labels(Metric.TCP_CLOSED, STANDARD, values).keySet()));
        assertEquals(Map.of("reporter", "source", "request_protocol", "tcp", "response_flags", "x", "app", "a", "zone", "eu"),
                o.labels(Metric.TCP_SENT, STANDARD, values));
        assertEquals(List.of("reporter", "request_protocol", "response_flags", "app", "zone"),
                List.copyOf(o.labels(Metric.TCP_SENT, STANDARD, values).keySet()));
        assertNull(o.labels(Metric.TCP_OPENED, STANDARD, values));
    }

    @Test
    void aFilterThatChangesNothingLeavesTheChainOnTheUsualPath() throws Exception {
        assertNull(tcp("{\"disable_host_header_fallback\": true}"));
        assertNull(tcp("{\"metrics\": [{\"name\": \"request_messages_total\", \"drop\": true}, {\"drop\": true}]}"));
        assertNull(ListenerTranslator.translate(listener(TCP_PROXY)).chains().get(0).stats());
    }

    @Test
    void whatCannotBeServedIsRefusedWithTheReason() throws Exception {
        refused("metrics[0]: dimension team: unterminated string at position 18 of \"request.headers['x\"",
                listener(stats("{\"metrics\": [{\"dimensions\": {\"team\": \"request.headers['x\"}}]}"), TCP_PROXY));
        refused("metrics[0]: unknown metric \"my_metric\" (custom metrics are not served)",
                listener(stats("{\"metrics\": [{\"name\": \"my_metric\", \"drop\": true}]}"), TCP_PROXY));
        refused("definitions is not supported", listener(stats("{\"definitions\": []}"), TCP_PROXY));
        refused("metrics[0]: match is not supported", listener(stats("{\"metrics\": [{\"match\": \"true\"}]}"), TCP_PROXY));
        refused("istio.stats after the filter that relays would never run", listener(TCP_PROXY, stats("{}")));
        refused("istio.stats needs a TypedStruct of type.googleapis.com/stats.PluginConfig",
                listener(Filter.newBuilder().setName("istio.stats").setTypedConfig(Any.pack(Struct.getDefaultInstance()))
                        .build(), TCP_PROXY));
    }
}
