package io.mesh.pilot.xds;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.mesh.pilot.generator.Generator;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Shares generated responses between proxies that would get the same ones: same snapshot, type, requested names
 * and proxy shape (kind, namespace, labels; the IP only when the proxy serves endpoints itself). Generators are
 * pure, so this changes nothing but cost: one generation and one hash per shape instead of per connection.
 * The same message instances are handed out, so the server's serializer cache packs each once.
 *
 * <p>Thread-safety: a concurrent map per snapshot; entries of older snapshots are dropped when a newer one is used.
 */
final class GenerationCache {
    /** Resources with the response version and each resource's own version (for delta). */
    record Generated(List<? extends Message> resources, String version, Map<String, String> versions,
            Set<String> names) {
    }

    /** Two generations compared by identity: they are shared, and deep equality would cost a full traversal. */
    private static final class DiffKey {
        final Generated from;
        final Generated to;

        DiffKey(Generated from, Generated to) {
            this.from = from;
            this.to = to;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DiffKey k && k.from == from && k.to == to;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(from) * 31 + System.identityHashCode(to);
        }
    }

    private volatile Map<DiffKey, List<Message>> diffs = new ConcurrentHashMap<>();

    /** The resources of {@code to} whose content differs from {@code from}: an incremental SotW EDS push. */
    List<Message> changed(Generated from, Generated to) {
        return diffs.computeIfAbsent(new DiffKey(from, to), k -> {
            List<Message> out = new java.util.ArrayList<>();
            for (Message m : to.resources()) {
                String name = Resources.getResourceName(m);
                if (!to.versions().get(name).equals(from.versions().get(name))) {
                    out.add(m);
                }
            }
            return List.copyOf(out);
        });
    }

    private record Key(String type, String shape, Set<String> names) {
    }

    private final Generator generator;
    private volatile long snapshotVersion = -1;
    private volatile Map<Key, Generated> entries = new ConcurrentHashMap<>();

    GenerationCache(Generator generator) {
        this.generator = generator;
    }

    Generated get(String type, ProxyInfo proxy, MeshSnapshot snapshot, Set<String> names) {
        Map<Key, Generated> map = entriesFor(snapshot);
        Key key = new Key(type, shape(type, proxy, snapshot), names);
        return map.computeIfAbsent(key, k -> {
            List<? extends Message> resources = generator.generate(type, proxy, snapshot, names);
            Map<String, String> versions = new HashMap<>();
            for (Message m : resources) {
                versions.put(Resources.getResourceName(m), version(List.of(m), Set.of()));
            }
            return new Generated(List.copyOf(resources), version(resources, names), Map.copyOf(versions),
                    names);
        });
    }

    /** A response's version: a hash of its names and content, so equal content means an equal version. */
    static String version(List<? extends Message> resources, Set<String> names) {
        com.google.common.hash.Hasher h = com.google.common.hash.Hashing.murmur3_128().newHasher();
        new java.util.TreeSet<>(names).forEach(n -> h.putString(n, java.nio.charset.StandardCharsets.UTF_8)
                .putByte((byte) 0));
        for (Message m : resources) {
            h.putBytes(m.toByteArray());
        }
        return h.hash().toString().substring(0, 16);
    }

    private synchronized Map<Key, Generated> entriesFor(MeshSnapshot snapshot) {
        if (snapshot.version() != snapshotVersion) {
            snapshotVersion = snapshot.version();
            entries = new ConcurrentHashMap<>();
            diffs = new ConcurrentHashMap<>();
        }
        return entries;
    }

    /** What the generators read from the proxy for this type; proxies with equal shapes get equal resources. */
    private static String shape(String type, ProxyInfo proxy, MeshSnapshot snapshot) {
        String base = proxy.type() + "|" + proxy.namespace() + "|" + new java.util.TreeMap<>(proxy.labels());
        boolean perInstance = proxy.type() == ProxyInfo.Type.SIDECAR
                && (type.equals(Resources.V3.LISTENER_TYPE_URL) || type.equals(Resources.V3.CLUSTER_TYPE_URL))
                && servesEndpoints(proxy, snapshot);
        return perInstance ? base + "|" + proxy.ip() : base;
    }

    private static boolean servesEndpoints(ProxyInfo proxy, MeshSnapshot snapshot) {
        for (List<io.mesh.pilot.model.Endpoint> eps : snapshot.endpoints().values()) {
            for (io.mesh.pilot.model.Endpoint e : eps) {
                if (e.address().equals(proxy.ip())) {
                    return true;
                }
            }
        }
        return false;
    }
}
