package io.mesh.gateway.model;

import io.mesh.config.AttributeExpression;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Istio's stats filter config ({@code stats.PluginConfig} {@code metrics[]}) of a chain, compiled once when the listener
 * is translated: per standard metric, whether it is dropped, and how its labels change, as istio/proxy's istio_stats
 * applies them. A removed standard tag is left out; an upserted standard tag keeps its place with the expression's
 * value; an upserted new tag is added after the standard ones, in name order. Tags that are not standard cannot be
 * removed (ignored, as there). The expressions are evaluated once per request (or TCP connection), all of them, into
 * the values that {@link #labels} reads by index. A chain without the filter, or whose filter changes nothing, has none
 * (null), so the request path does no extra work. Immutable.
 */
public final class StatsOverrides {

    /** The standard metrics this proxy records, by the stats filter's names. */
    public enum Metric {
        REQUESTS("requests_total"), DURATION("request_duration_milliseconds"), REQUEST_BYTES("request_bytes"),
        RESPONSE_BYTES("response_bytes"), TCP_OPENED("tcp_connections_opened_total"),
        TCP_CLOSED("tcp_connections_closed_total"), TCP_SENT("tcp_sent_bytes_total"),
        TCP_RECEIVED("tcp_received_bytes_total");

        public final String statsName;

        Metric(String statsName) {
            this.statsName = statsName;
        }
    }

    /** The stats filter's names of Istio's metrics this proxy does not record (gRPC message counts): accepted, inert. */
    public static final Set<String> UNRECORDED = Set.of("request_messages_total", "response_messages_total");

    /** Istio's standard tag names (istio_stats' {@code all_tags_}): only these can be removed or overridden in place. */
    public static final Set<String> STANDARD_TAGS = Set.of("reporter", "source_workload", "source_workload_namespace",
            "source_principal", "source_app", "source_version", "source_canonical_service",
            "source_canonical_revision", "source_cluster", "destination_workload", "destination_workload_namespace",
            "destination_principal", "destination_app", "destination_version", "destination_service",
            "destination_service_name", "destination_service_namespace", "destination_canonical_service",
            "destination_canonical_revision", "destination_cluster", "request_protocol", "response_flags",
            "connection_security_policy", "response_code", "grpc_response_status");

    /** One metric's changes: dropped, or each tag's fate (null: removed; else the index of its expression). */
    private record Changes(boolean drop, Map<String, Integer> tags) {
    }

    private final Changes[] byMetric;
    private final AttributeExpression[] expressions;
    private final String[] headerNames;
    private final boolean readsResponse;

    private StatsOverrides(Changes[] byMetric, AttributeExpression[] expressions) {
        this.byMetric = byMetric;
        this.expressions = expressions;
        this.headerNames = java.util.Arrays.stream(expressions).flatMap(e -> e.headerNames().stream()).distinct()
                .sorted().toArray(String[]::new);
        this.readsResponse = java.util.Arrays.stream(expressions).anyMatch(e -> !e.responseHeaderNames().isEmpty());
    }

    /** Whether an expression reads a response header or trailer (the fast path then keeps the decoded response). */
    public boolean readsResponse() {
        return readsResponse;
    }

    /**
     * The request headers the expressions read (lower case): the fast path keeps these of a request, whose header map
     * becomes the upstream's head before the request is recorded.
     */
    public String[] headerNames() {
        return headerNames;
    }

    /**
     * A builder fed the {@code metrics[]} entries in order; later entries win, tag by tag. {@code name} empty: every
     * metric (a drop without a name drops nothing, as in istio_stats).
     */
    public static final class Builder {
        private final Map<Metric, Boolean> drop = new java.util.EnumMap<>(Metric.class);
        private final Map<Metric, Map<String, Integer>> tags = new java.util.EnumMap<>(Metric.class);
        private final List<AttributeExpression> expressions = new ArrayList<>();
        private final Map<String, Integer> ids = new LinkedHashMap<>();

        /** {@code metrics}: the metrics the entry names (all for an empty name). */
        public Builder drop(List<Metric> metrics) {
            metrics.forEach(m -> drop.put(m, true));
            return this;
        }

        public Builder remove(List<Metric> metrics, String tag) {
            if (STANDARD_TAGS.contains(tag)) {
                metrics.forEach(m -> tags.computeIfAbsent(m, k -> new TreeMap<>()).put(tag, null));
            }
            return this;
        }

        public Builder upsert(List<Metric> metrics, String tag, AttributeExpression value) {
            Integer id = ids.computeIfAbsent(value.source(), k -> {
                expressions.add(value);
                return expressions.size() - 1;
            });
            metrics.forEach(m -> tags.computeIfAbsent(m, k -> new TreeMap<>()).put(tag, id));
            return this;
        }

        /** The overrides, or null when they change nothing. */
        public StatsOverrides build() {
            if (drop.isEmpty() && tags.isEmpty()) {
                return null;
            }
            Changes[] by = new Changes[Metric.values().length];
            for (Metric m : Metric.values()) {
                Map<String, Integer> t = tags.getOrDefault(m, Map.of());
                by[m.ordinal()] = new Changes(drop.getOrDefault(m, false), java.util.Collections.unmodifiableMap(
                        new TreeMap<>(t)));
            }
            return new StatsOverrides(by, expressions.toArray(new AttributeExpression[0]));
        }
    }

    public boolean dropped(Metric m) {
        return byMetric[m.ordinal()].drop();
    }

    /** The values of every expression for one request or connection ("unknown" for one without a value). */
    public List<String> evaluate(AttributeExpression.Activation a) {
        if (expressions.length == 0) {
            return List.of();
        }
        String[] out = new String[expressions.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = expressions[i].label(a);
        }
        return Arrays.asList(out);
    }

    /** The labels of {@code m}: {@code standard} with its tags removed or changed, then the new ones (null: dropped). */
    public Map<String, String> labels(Metric m, Map<String, String> standard, List<String> values) {
        Changes c = byMetric[m.ordinal()];
        if (c.drop()) {
            return null;
        }
        if (c.tags().isEmpty()) {
            return standard;
        }
        Map<String, String> out = new LinkedHashMap<>();
        standard.forEach((tag, value) -> {
            if (!c.tags().containsKey(tag)) {
                out.put(tag, value);
            } else if (c.tags().get(tag) != null) {
                out.put(tag, values.get(c.tags().get(tag)));
            }
        });
        c.tags().forEach((tag, id) -> {
            if (id != null && !STANDARD_TAGS.contains(tag)) {   // a standard tag the metric lacks is not added
                out.put(tag, values.get(id));
            }
        });
        return out;
    }

    @Override
    public String toString() {
        return "StatsOverrides" + Arrays.toString(byMetric);
    }
}
