package io.mesh.pilot.generator;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.config.Telemetry;
import io.mesh.config.TelemetryMetrics;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Istio's {@code istio.stats} filter from the Telemetry resources' {@code metrics} rules, as istiod builds it
 * (pilot/pkg/model/telemetry.go mergeMetrics, telemetry_metric.go generateStatsConfig): the rules of the root namespace,
 * the namespace and the workload, least specific first, merge per side (CLIENT: a router, a sidecar's outbound; SERVER:
 * a sidecar's inbound) and per metric; a later {@code disabled} or tag override wins, tag by tag. The result is a
 * TypedStruct of {@code stats.PluginConfig} ({@code metrics[]}: Prometheus name, {@code dimensions}, {@code
 * tags_to_remove}, {@code drop}; {@code disable_host_header_fallback} on inbound and gateway chains), an HTTP filter
 * before the router of every HCM and a network filter before every tcp_proxy.
 *
 * <p>Differences from istiod, written down: istiod sends the filter on every chain (its default provider is
 * prometheus); pilot sends it only when a {@code metrics} rule applies to the proxy, since a chain without the filter
 * already reports every standard metric with every label here. When {@code ALL_METRICS} ends disabled, istiod leaves the
 * filter out; pilot sends it with every standard metric dropped, because a missing filter means "all metrics" to this
 * mesh's gateway. Pure: no state.
 */
final class IstioStats {
    static final String FILTER = "istio.stats";
    static final String CONFIG_TYPE = "type.googleapis.com/stats.PluginConfig";
    private static final String ROUTER = "envoy.filters.http.router";

    /** Istio's metric enum -> the stats filter's metric name (its Prometheus name without "istio_"). */
    static final Map<String, String> PROMETHEUS_NAMES = Map.of(
            "REQUEST_COUNT", "requests_total",
            "REQUEST_DURATION", "request_duration_milliseconds",
            "REQUEST_SIZE", "request_bytes",
            "RESPONSE_SIZE", "response_bytes",
            "TCP_OPENED_CONNECTIONS", "tcp_connections_opened_total",
            "TCP_CLOSED_CONNECTIONS", "tcp_connections_closed_total",
            "TCP_SENT_BYTES", "tcp_sent_bytes_total",
            "TCP_RECEIVED_BYTES", "tcp_received_bytes_total",
            "GRPC_REQUEST_MESSAGES", "request_messages_total",
            "GRPC_RESPONSE_MESSAGES", "response_messages_total");

    private IstioStats() {
    }

    /** One metric's merged override: {@code disabled} (null: not set) and its tag overrides by name. */
    private static final class Merged {
        Boolean disabled;
        final Map<String, TelemetryMetrics.TagOverride> tags = new TreeMap<>();
    }

    /**
     * The PluginConfig of one side, or null when no {@code metrics} rule applies to the proxy (no filter is sent).
     * {@code inbound}: a sidecar's inbound side; {@code router}: a gateway (both disable the Host header fallback).
     */
    static Any config(ProxyInfo proxy, MeshSnapshot snapshot, Telemetry.Mode side, boolean hostFallbackOff) {
        List<TelemetryMetrics> rules = TelemetryPolicy.applicable(proxy, snapshot.telemetries()).stream()
                .flatMap(t -> t.metrics().stream()).toList();
        if (rules.isEmpty()) {
            return null;
        }
        // Providers: the last rule that names some is the scope (istiod's inScopeProviders); here that is always
        // prometheus, the one provider validation accepts.
        boolean allDisabled = false;
        Map<String, Merged> merged = new TreeMap<>();
        for (TelemetryMetrics rule : rules) {
            for (TelemetryMetrics.Override o : rule.overrides()) {
                if (o.allMetrics() && Boolean.TRUE.equals(o.disabled())) {
                    allDisabled = true;
                    continue;
                }
                allDisabled = false;   // istiod: a later override enables the metrics again (root disables, namespace enables)
                if (!o.mode().covers(side)) {
                    continue;
                }
                List<String> metrics = o.custom() ? List.of(o.metric()) : o.allMetrics()
                        ? TelemetryMetrics.ISTIO_METRICS.subList(1, TelemetryMetrics.ISTIO_METRICS.size())
                        : List.of(o.metric());
                for (String metric : metrics) {
                    Merged m = merged.computeIfAbsent(metric, k -> new Merged());
                    if (o.disabled() != null) {
                        m.disabled = o.disabled();
                    }
                    m.tags.putAll(o.tagOverrides());
                }
            }
        }
        Struct.Builder cfg = Struct.newBuilder();
        if (hostFallbackOff) {
            cfg.putFields("disable_host_header_fallback", Value.newBuilder().setBoolValue(true).build());
        }
        ListValue.Builder list = ListValue.newBuilder();
        Map<String, Struct> byName = new TreeMap<>();
        if (allDisabled) {
            PROMETHEUS_NAMES.values().forEach(n -> byName.put(n, Struct.newBuilder().putFields("name", string(n))
                    .putFields("drop", Value.newBuilder().setBoolValue(true).build()).build()));
        } else {
            merged.forEach((metric, m) -> {
                String name = PROMETHEUS_NAMES.getOrDefault(metric, metric);
                Struct.Builder mc = Struct.newBuilder().putFields("name", string(name));
                Struct.Builder dimensions = Struct.newBuilder();
                ListValue.Builder remove = ListValue.newBuilder();
                m.tags.forEach((tag, t) -> {
                    if (t.remove()) {
                        remove.addValues(string(tag));
                    } else {
                        dimensions.putFields(tag, string(t.value()));
                    }
                });
                if (dimensions.getFieldsCount() > 0) {
                    mc.putFields("dimensions", Value.newBuilder().setStructValue(dimensions).build());
                }
                if (remove.getValuesCount() > 0) {
                    mc.putFields("tags_to_remove", Value.newBuilder().setListValue(remove).build());
                }
                if (Boolean.TRUE.equals(m.disabled)) {
                    mc.putFields("drop", Value.newBuilder().setBoolValue(true).build());
                }
                byName.put(name, mc.build());
            });
        }
        byName.values().forEach(s -> list.addValues(Value.newBuilder().setStructValue(s)));
        if (list.getValuesCount() > 0) {
            cfg.putFields("metrics", Value.newBuilder().setListValue(list).build());
        }
        return Any.pack(TypedStruct.newBuilder().setTypeUrl(CONFIG_TYPE).setValue(cfg).build());
    }

    /**
     * {@code listeners} with the filter on every HCM (before its router) and every tcp_proxy chain; unchanged when no
     * metrics rule applies. A listener whose traffic direction is INBOUND is the SERVER side, any other the CLIENT side.
     */
    static List<Listener> apply(List<Listener> listeners, ProxyInfo proxy, MeshSnapshot snapshot, boolean router) {
        Any client = config(proxy, snapshot, Telemetry.Mode.CLIENT, router);
        if (client == null) {
            return listeners;
        }
        Any server = config(proxy, snapshot, Telemetry.Mode.SERVER, true);
        List<Listener> out = new ArrayList<>(listeners.size());
        for (Listener l : listeners) {
            Any stats = l.getTrafficDirection() == TrafficDirection.INBOUND ? server : client;
            Listener.Builder b = l.toBuilder().clearFilterChains();
            for (FilterChain fc : l.getFilterChainsList()) {
                b.addFilterChains(chain(fc, stats));
            }
            if (l.hasDefaultFilterChain()) {
                b.setDefaultFilterChain(chain(l.getDefaultFilterChain(), stats));
            }
            out.add(b.build());
        }
        return out;
    }

    private static FilterChain chain(FilterChain fc, Any stats) {
        FilterChain.Builder b = fc.toBuilder().clearFilters();
        for (Filter f : fc.getFiltersList()) {
            if (f.getName().equals(SidecarListenerGenerator.TCP_PROXY)) {
                b.addFilters(Filter.newBuilder().setName(FILTER).setTypedConfig(stats));
                b.addFilters(f);
            } else if (f.getName().equals(Hcm.NAME)) {
                b.addFilters(f.toBuilder().setTypedConfig(Any.pack(hcm(f.getTypedConfig(), stats))));
            } else {
                b.addFilters(f);
            }
        }
        return b.build();
    }

    private static HttpConnectionManager hcm(Any packed, Any stats) {
        HttpConnectionManager hcm;
        try {
            hcm = packed.unpack(HttpConnectionManager.class);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("pilot's own HCM does not decode", e);
        }
        HttpConnectionManager.Builder b = hcm.toBuilder().clearHttpFilters();
        boolean added = false;
        for (HttpFilter hf : hcm.getHttpFiltersList()) {
            // Before the stateful session filter, if any, else the router: istiod's telemetry filters precede both.
            if (!added && (hf.getName().equals(ROUTER) || hf.getName().equals(StatefulSessions.FILTER))) {
                b.addHttpFilters(HttpFilter.newBuilder().setName(FILTER).setTypedConfig(stats));
                added = true;
            }
            b.addHttpFilters(hf);
        }
        return b.build();
    }

    private static Value string(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
