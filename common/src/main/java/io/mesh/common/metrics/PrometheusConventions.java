package io.mesh.common.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import java.util.Map;

/**
 * Makes every meter of a component pass Prometheus' own linter ({@code promtool check metrics}), so
 * operators can scrape and lint {@code /q/metrics} as they would any exporter. It owns naming and help
 * text only; it never changes a value.
 *
 * <ul>
 *   <li>Every meter gets help text: a meter registered without a description gets one built from its
 *       name, since Prometheus tooling expects HELP on every family.</li>
 *   <li>Double quotes are dropped from help text. The Prometheus text format (0.0.4) does not escape
 *       them and OpenMetrics does, so one help string must read the same in both.</li>
 *   <li>Meters whose names break Prometheus' conventions in a way a rename can fix are renamed; those
 *       that would need their values rescaled are denied, since a near duplicate exists.</li>
 *   <li>Long task timers are denied: their exported shape is not valid Prometheus text.</li>
 * </ul>
 */
public final class PrometheusConventions implements MeterFilter {

    /** Renamed because a {@code _count} suffix is reserved for histograms and summaries. */
    private static final Map<String, String> RENAMED = Map.of("system.cpu.count", "system.cpu.available");

    @Override
    public MeterFilterReply accept(Meter.Id id) {
        // process_cpu_time_ns_total: an abbreviated unit in the name; process_cpu_usage carries the same signal.
        if ("process.cpu.time".equals(id.getName())) {
            return MeterFilterReply.DENY;
        }
        // Long task timers come out as a "summary" whose samples (_active_count, _duration_sum) are not a
        // summary's, which the linter rejects. Components count in-flight work with gauges instead.
        if (id.getType() == Meter.Type.LONG_TASK_TIMER) {
            return MeterFilterReply.DENY;
        }
        return MeterFilterReply.NEUTRAL;
    }

    @Override
    public Meter.Id map(Meter.Id id) {
        String name = RENAMED.getOrDefault(id.getName(), id.getName());
        String description = id.getDescription();
        if (description == null || description.isBlank()) {
            description = describe(name);
        }
        description = description.replace("\"", "").strip();
        if (name.equals(id.getName()) && description.equals(id.getDescription())) {
            return id;
        }
        return new Meter.Id(name, io.micrometer.core.instrument.Tags.of(id.getTagsAsIterable()), id.getBaseUnit(),
                description, id.getType());
    }

    /** Help text from a dotted meter name: {@code netty.allocator.memory.used} becomes "Netty allocator memory used". */
    static String describe(String name) {
        String words = name.replace('.', ' ').replace('_', ' ').strip();
        if (words.isEmpty()) {
            return "Unnamed meter";
        }
        return Character.toUpperCase(words.charAt(0)) + words.substring(1);
    }
}
