package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.mesh.config.AttributeExpression;
import io.mesh.gateway.model.StatsOverrides;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Istio's {@code istio.stats} filter (HTTP filter in an HCM, or network filter before a tcp_proxy), as istiod sends it:
 * a TypedStruct of {@code stats.PluginConfig} (istio/proxy's istio_stats {@code config.proto}). {@code metrics[]}
 * (name, {@code dimensions}, {@code tags_to_remove}, {@code drop}) becomes {@link StatsOverrides}, each dimension's CEL
 * expression parsed here, once; an expression this proxy cannot evaluate is refused with the reason and its position.
 * {@code disable_host_header_fallback}, {@code tcp_reporting_duration}, the scope rotation durations and
 * {@code reporter} are accepted without effect (this proxy counts as traffic moves and keeps its meters); {@code
 * definitions} (custom metrics) and a {@code match} are refused. Returns null when nothing changes (no work per request).
 */
final class StatsTranslator {
    static final String FILTER = "istio.stats";
    static final String CONFIG_TYPE = "type.googleapis.com/stats.PluginConfig";

    private StatsTranslator() {
    }

    static StatsOverrides translate(Any config, String where) throws ConfigRejected {
        Struct fields = TypedStructs.fields(config, FILTER, CONFIG_TYPE, where);
        StatsOverrides.Builder b = new StatsOverrides.Builder();
        for (Map.Entry<String, Value> f : fields.getFieldsMap().entrySet()) {
            switch (f.getKey()) {
                case "disable_host_header_fallback", "disableHostHeaderFallback", "tcp_reporting_duration",
                        "tcpReportingDuration", "rescoping_duration", "rescopingDuration", "scope_grace_period_duration",
                        "scopeGracePeriodDuration", "reporter" -> {
                    // Meters here are counted as traffic moves and are not rotated; the reporter comes from the side.
                }
                case "metrics" -> {
                    List<Value> list = f.getValue().getListValue().getValuesList();
                    for (int i = 0; i < list.size(); i++) {
                        metric(list.get(i).getStructValue(), b, where + " " + FILTER + " metrics[" + i + "]");
                    }
                }
                default -> throw new ConfigRejected(where + ": " + FILTER + ": " + f.getKey() + " is not supported"
                        + " (metrics overrides only)");
            }
        }
        return b.build();
    }

    private static void metric(Struct m, StatsOverrides.Builder b, String where) throws ConfigRejected {
        String name = m.getFieldsOrDefault("name", Value.getDefaultInstance()).getStringValue();
        List<StatsOverrides.Metric> metrics;
        if (name.isEmpty()) {
            metrics = Arrays.asList(StatsOverrides.Metric.values());
        } else {
            metrics = Arrays.stream(StatsOverrides.Metric.values()).filter(x -> x.statsName.equals(name)).toList();
            if (metrics.isEmpty() && !StatsOverrides.UNRECORDED.contains(name)) {
                throw new ConfigRejected(where + ": unknown metric \"" + name + "\" (custom metrics are not served)");
            }
        }
        for (String field : m.getFieldsMap().keySet()) {
            if (!List.of("name", "dimensions", "tags_to_remove", "tagsToRemove", "drop").contains(field)) {
                throw new ConfigRejected(where + ": " + field + " is not supported");
            }
        }
        // As istio_stats: an entry that drops does only that.
        if (m.getFieldsOrDefault("drop", Value.getDefaultInstance()).getBoolValue()) {
            if (!name.isEmpty()) {
                b.drop(metrics);
            }
            return;
        }
        Value remove = m.containsFields("tags_to_remove") ? m.getFieldsOrThrow("tags_to_remove")
                : m.getFieldsOrDefault("tagsToRemove", Value.getDefaultInstance());
        for (Value tag : remove.getListValue().getValuesList()) {
            b.remove(metrics, tag.getStringValue());
        }
        // Dimensions in tag-name order, as istio_stats adds them.
        var dims = new java.util.TreeMap<>(m.getFieldsOrDefault("dimensions", Value.getDefaultInstance()).getStructValue()
                .getFieldsMap());
        for (Map.Entry<String, Value> d : dims.entrySet()) {
            String expr = d.getValue().getStringValue();
            try {
                b.upsert(metrics, d.getKey(), AttributeExpression.parse(expr));
            } catch (IllegalArgumentException e) {
                throw new ConfigRejected(where + ": dimension " + d.getKey() + ": " + e.getMessage());
            }
        }
    }
}
