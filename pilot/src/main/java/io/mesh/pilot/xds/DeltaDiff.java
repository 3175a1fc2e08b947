package io.mesh.pilot.xds;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a delta client lacks: resources whose version differs from what it tracks, and tracked names that no
 * longer exist (removed_resources). {@code version} names this diff, so a NACKed one is recognised and held.
 */
record DeltaDiff(Map<String, VersionedResource<?>> changed, List<String> removed, int present, String version) {

    /** The names to generate for a delta watch: everything for wildcard, else tracked plus pending. */
    static Set<String> names(DeltaWatch watch) {
        if (watch.isWildcard()) {
            return Set.of();
        }
        Set<String> names = new HashSet<>(watch.pendingResources());
        names.addAll(watch.trackedResources().keySet());
        return names;
    }

    /** Null when the client already has exactly this. */
    static DeltaDiff of(DeltaWatch watch, GenerationCache.Generated generated) {
        Map<String, VersionedResource<?>> changed = new LinkedHashMap<>();
        Set<String> present = new HashSet<>();
        for (Message m : generated.resources()) {
            String name = Resources.getResourceName(m);
            present.add(name);
            String v = generated.versions().get(name);
            if (!v.equals(watch.trackedResources().get(name))) {
                changed.put(name, VersionedResource.create(m, v));
            }
        }
        List<String> removed = new ArrayList<>();
        for (String tracked : watch.trackedResources().keySet()) {
            if (!present.contains(tracked)) {
                removed.add(tracked);
            }
        }
        if (changed.isEmpty() && removed.isEmpty()) {
            return null;
        }
        Hasher h = Hashing.murmur3_128().newHasher();
        changed.forEach((k, v) -> h.putString(k, StandardCharsets.UTF_8).putString(v.version(), StandardCharsets.UTF_8));
        removed.forEach(r -> h.putString("-" + r, StandardCharsets.UTF_8));
        return new DeltaDiff(changed, removed, present.size(), h.hash().toString().substring(0, 16));
    }
}
