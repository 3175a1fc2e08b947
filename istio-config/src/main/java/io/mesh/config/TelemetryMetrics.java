package io.mesh.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Telemetry's {@code metrics[]} rule (telemetry.istio.io Metrics): the providers it names (empty: the parent's, else
 * the default {@code prometheus}), its overrides in order (later ones win), and {@code reportingInterval} (null: not
 * set). Parsed and validated as Istio's validation does; how rules of several resources merge is pilot's.
 */
public record TelemetryMetrics(List<String> providers, List<Override> overrides, Duration reportingInterval) {

    /** Istio's only metrics provider that the proxies serve: their Prometheus exposition (and the same over OTLP). */
    public static final String PROMETHEUS = "prometheus";

    /** Istio's MetricSelector.IstioMetric values, ALL_METRICS first. */
    public static final List<String> ISTIO_METRICS = List.of("ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION",
            "REQUEST_SIZE", "RESPONSE_SIZE", "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS", "TCP_SENT_BYTES",
            "TCP_RECEIVED_BYTES", "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES");

    public TelemetryMetrics {
        providers = List.copyOf(providers);
        overrides = List.copyOf(overrides);
    }

    /**
     * One override: the metric it matches ({@code metric}: one of {@link #ISTIO_METRICS}, or a custom metric's name
     * when {@code custom}), the side ({@code mode}), {@code disabled} (null: not set) and the tag overrides by tag name.
     */
    public record Override(String metric, boolean custom, Telemetry.Mode mode, Boolean disabled,
            Map<String, TagOverride> tagOverrides) {
        public Override {
            tagOverrides = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tagOverrides));
        }

        public boolean allMetrics() {
            return !custom && metric.equals("ALL_METRICS");
        }
    }

    /** A tag override: REMOVE the tag, or UPSERT it with {@code value}, a CEL expression over Envoy's attributes. */
    public record TagOverride(boolean remove, String value) {
    }

    static TelemetryMetrics parse(SpecReader m, Problems p) {
        m.allow("providers", "overrides", "reportingInterval");
        List<String> providers = new ArrayList<>();
        List<SpecReader> refs = m.list("providers");
        for (SpecReader ref : refs) {
            ref.allow("name");
            String name = ref.string("name");
            if (name == null || name.isEmpty()) {
                p.error(ref.at("name"), "providers must have a name");
            } else if (!name.equals(PROMETHEUS)) {
                p.error(ref.at("name"), "unknown provider \"" + name + "\": metrics here have the provider(s) [\""
                        + PROMETHEUS + "\"]");
            } else {
                providers.add(name);
            }
        }
        Duration interval = m.duration("reportingInterval");
        if (interval != null) {
            p.warn(m.at("reportingInterval"), "has no effect here: TCP byte counts are recorded as they move");
        }
        List<Override> overrides = new ArrayList<>();
        for (SpecReader o : m.list("overrides")) {
            overrides.add(override(o, p));
        }
        return new TelemetryMetrics(providers, overrides, interval);
    }

    private static Override override(SpecReader o, Problems p) {
        o.allow("match", "disabled", "tagOverrides");
        String metric = "ALL_METRICS";
        boolean custom = false;
        Telemetry.Mode mode = Telemetry.Mode.CLIENT_AND_SERVER;
        SpecReader match = o.object("match");
        if (match != null) {
            match.allow("metric", "customMetric", "mode");
            if (match.has("metric") && match.has("customMetric")) {
                p.error(match.path(), "only one of metric or customMetric may be set");
            }
            String m = match.string("metric");
            if (m != null) {
                if (!ISTIO_METRICS.contains(m)) {
                    p.error(match.at("metric"), "unknown metric \"" + m + "\" (use one of " + ISTIO_METRICS + ")");
                } else {
                    metric = m;
                }
            } else if (match.has("customMetric")) {
                String c = match.string("customMetric");
                if (c == null || c.isEmpty()) {
                    p.error(match.at("customMetric"), "customMetric may not be empty");
                } else {
                    metric = c;
                    custom = true;
                    p.warn(match.at("customMetric"), "has no effect here: the proxies record Istio's standard metrics"
                            + " only");
                }
            }
            String modeName = match.string("mode");
            if (modeName != null) {
                try {
                    mode = Telemetry.Mode.valueOf(modeName);
                } catch (IllegalArgumentException e) {
                    p.error(match.at("mode"), "unknown mode \"" + modeName + "\" (use CLIENT_AND_SERVER, CLIENT or"
                            + " SERVER)");
                }
            }
        }
        Map<String, TagOverride> tags = new LinkedHashMap<>();
        SpecReader to = o.object("tagOverrides");
        if (to != null) {
            for (var it = to.node().fieldNames(); it.hasNext();) {
                String tag = it.next();
                SpecReader t = to.object(tag);
                if (t == null) {
                    continue;
                }
                if (tag.isEmpty()) {
                    p.error(t.path(), "tag name may not be empty");
                    continue;
                }
                t.allow("operation", "value");
                String op = t.string("operation");
                String value = t.string("value");
                boolean remove;
                if (op == null || op.equals("UPSERT")) {
                    remove = false;
                    if (value == null || value.isEmpty()) {
                        p.error(t.at("value"), "must be set when operation is UPSERT");
                        continue;
                    }
                    try {
                        AttributeExpression.parse(value);
                    } catch (IllegalArgumentException e) {
                        p.error(t.at("value"), "is not a valid expression: " + e.getMessage());
                        continue;
                    }
                } else if (op.equals("REMOVE")) {
                    remove = true;
                    if (value != null && !value.isEmpty()) {
                        p.error(t.at("value"), "may only be set when operation is UPSERT");
                        continue;
                    }
                } else {
                    p.error(t.at("operation"), "unknown operation \"" + op + "\" (use UPSERT or REMOVE)");
                    continue;
                }
                tags.put(tag, new TagOverride(remove, remove ? null : value));
            }
        }
        return new Override(metric, custom, mode, o.bool("disabled"), tags);
    }
}
