package io.mesh.pilot.registry;

import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jboss.logging.Logger;

/**
 * Every Istio resource pilot has seen, validated. A valid resource replaces the previous one; an invalid one is
 * recorded with its reason while its last good version stays in force. Nothing else is affected by a rejection.
 *
 * <p>Thread-safety: all methods are synchronized; {@link #accepted()} and {@link #status()} return immutable copies.
 */
public final class ConfigStore {
    private static final Logger LOG = Logger.getLogger(ConfigStore.class);

    /** Told about each rejection (log, metric, Kubernetes Event). */
    public interface RejectionListener {
        void rejected(RawResource raw, String reason);
    }

    /** What /debug/configz shows for one resource. */
    public record Status(ConfigKey key, String origin, boolean inForce, String rejectedReason, List<String> warnings) {
    }

    private record Entry(ConfigValidator.Result good, ConfigValidator.Result rejected) {
    }

    private final Map<ConfigKey, Entry> entries = new HashMap<>();
    private final Map<String, Set<ConfigKey>> bySource = new HashMap<>();
    private final List<String> sourceErrors = new ArrayList<>();
    private final RejectionListener listener;

    public ConfigStore(RejectionListener listener) {
        this.listener = listener;
    }

    /** Replaces everything that came from {@code source} (a folder). Returns true when what is in force changed. */
    public synchronized boolean replaceSource(String source, List<RawResource> resources, List<String> errors) {
        sourceErrors.clear();
        sourceErrors.addAll(errors);
        errors.forEach(e -> LOG.warnf("config rejected: %s", e));
        boolean changed = false;
        Set<ConfigKey> seen = new HashSet<>();
        for (RawResource raw : resources) {
            if (!seen.add(raw.key())) {
                reject(ConfigValidator.validate(raw), "duplicate: " + raw.key() + " is defined more than once");
                continue;
            }
            changed |= apply(raw);
        }
        for (ConfigKey gone : bySource.getOrDefault(source, Set.of())) {
            if (!seen.contains(gone)) {
                changed |= remove(gone);
            }
        }
        bySource.put(source, seen);
        return changed;
    }

    /** Adds or updates one resource (a Kubernetes watch event). */
    public synchronized boolean upsert(RawResource raw) {
        return apply(raw);
    }

    public synchronized boolean delete(ConfigKey key) {
        return remove(key);
    }

    private boolean apply(RawResource raw) {
        Entry old = entries.get(raw.key());
        if (old != null && old.rejected() == null && old.good() != null
                && (old.good().raw() == raw || old.good().raw().equals(raw))) {
            // Unchanged (the folder is re-read whole on every file event): validation is a function of the
            // resource alone, so its result stands.
            return false;
        }
        ConfigValidator.Result result = ConfigValidator.validate(raw);
        if (!result.valid()) {
            boolean alreadyReported = old != null && old.rejected() != null
                    && java.util.Objects.equals(old.rejected().raw().spec(), raw.spec())
                    && java.util.Objects.equals(old.rejected().raw().apiVersion(), raw.apiVersion());
            if (!alreadyReported) {
                // The folder is re-read on every file event: report each rejected content once.
                reject(result, result.reason());
            }
            return false;
        }
        result.warnings().forEach(w -> LOG.debugf("config warning %s: %s", raw.key(), w));
        entries.put(raw.key(), new Entry(result, null));
        return old == null || old.good() == null || !old.good().model().equals(result.model());
    }

    private void reject(ConfigValidator.Result result, String reason) {
        RawResource raw = result.raw();
        Entry old = entries.get(raw.key());
        ConfigValidator.Result rejected = new ConfigValidator.Result(raw, null, List.of(reason), result.warnings());
        entries.put(raw.key(), new Entry(old == null ? null : old.good(), rejected));
        LOG.warnf("config rejected: %s (%s): %s%s", raw.key(), raw.origin(), reason,
                old != null && old.good() != null ? " (the last good version stays in force)" : "");
        listener.rejected(raw, reason);
    }

    private boolean remove(ConfigKey key) {
        Entry old = entries.remove(key);
        return old != null && old.good() != null;
    }

    /** The typed models in force, by key, sorted for deterministic snapshots. */
    public synchronized Map<ConfigKey, Object> accepted() {
        Map<ConfigKey, Object> out = new TreeMap<>();
        entries.forEach((k, e) -> {
            if (e.good() != null) {
                out.put(k, e.good().model());
            }
        });
        return java.util.Collections.unmodifiableMap(out);
    }

    public synchronized List<Status> status() {
        List<Status> out = new ArrayList<>();
        new TreeMap<>(entries).forEach((k, e) -> {
            ConfigValidator.Result shown = e.rejected() != null ? e.rejected() : e.good();
            out.add(new Status(k, shown.raw().origin(), e.good() != null,
                    e.rejected() == null ? null : e.rejected().reason(), shown.warnings()));
        });
        return List.copyOf(out);
    }

    public synchronized List<String> sourceErrors() {
        return List.copyOf(sourceErrors);
    }
}
