package io.mesh.gateway.proxy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Registers Istio's meters in a registry, one metric keeping one set of label names: when a Telemetry changes a
 * metric's labels, the series with the old names go (see {@link #makeRoom}). Called when a new label set is first
 * seen, never per request.
 */
final class MeterRegistrations {

    private static final Logger LOG = Logger.getLogger(MeterRegistrations.class);

    private final MeterRegistry registry;

    MeterRegistrations(MeterRegistry registry) {
        this.registry = registry;
    }

    Counter counter(String name, String description, Map<String, String> labels) {
        if (labels == null) {
            return null;
        }
        Tags tags = tags(labels);
        makeRoom(name, tags);
        return Counter.builder(name).description(description).tags(tags).register(registry);
    }

    /** Label names by metric name, of the meters registered last. */
    private final Map<String, java.util.List<String>> labelNames = new ConcurrentHashMap<>();

    /**
     * Before a meter named {@code name} is registered with {@code tags}: when the metric had other label names (a
     * Telemetry removed or added labels since), the meters with the old names are removed from the registry. Prometheus
     * needs one set of label names per metric, and a registry that has one refuses the other silently; the newest
     * config wins. Runs only when a new label set is registered, never per request.
     */
    private void makeRoom(String name, Tags tags) {
        java.util.List<String> keys = tags.stream().map(io.micrometer.core.instrument.Tag::getKey).sorted().toList();
        java.util.List<String> known = labelNames.get(name);
        if (keys.equals(known)) {
            return;
        }
        synchronized (labelNames) {
            known = labelNames.get(name);
            if (known != null && !known.equals(keys)) {
                for (io.micrometer.core.instrument.Meter m : registry.find(name).meters()) {
                    if (!m.getId().getTags().stream().map(io.micrometer.core.instrument.Tag::getKey).sorted().toList()
                            .equals(keys)) {
                        registry.remove(m);
                    }
                }
                LOG.infof("%s now has the labels %s (a Telemetry changed them); its series with other labels are removed",
                        name, keys);
            }
            labelNames.put(name, keys);
        }
    }

    DistributionSummary summary(String name, String description, double[] buckets, Map<String, String> labels,
            java.util.function.Function<Map<String, String>, Tags> tagsOf) {
        if (labels == null) {
            return null;
        }
        Tags tags = tagsOf.apply(labels);
        makeRoom(name, tags);
        return DistributionSummary.builder(name).description(description).serviceLevelObjectives(buckets).tags(tags)
                .register(registry);
    }

    static Tags tags(Map<String, String> labels) {
        Tags tags = Tags.empty();
        for (var e : labels.entrySet()) {
            tags = tags.and(e.getKey(), e.getValue());
        }
        return tags;
    }
}
