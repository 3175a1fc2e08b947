package io.mesh.pilot.xds;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.mesh.pilot.generator.Generator;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Shares generated responses between proxies that would get the same ones: same snapshot, type, requested names
 * and proxy shape (kind, namespace, labels; the IP only when the proxy serves endpoints itself). Generators are
 * pure, so this changes nothing but cost: one generation and one hash per shape and snapshot instead of per
 * connection. The same message instances are handed out, so the server's serializer packs each into an Any once
 * and every connection's response reuses those bytes.
 *
 * <p>Across snapshots, a resource whose content did not change keeps its previous instance (matched by name and
 * content hash), so an endpoint change re-packs only the assignments that changed, and incremental EDS compares
 * per-resource versions that were computed once.
 *
 * <p>Thread-safety: a concurrent map per snapshot; entries of older snapshots are dropped when a newer one is used.
 */
final class GenerationCache {
    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(GenerationCache.class);
    /** Resources with the response version and each resource's own version (for delta and incremental EDS). */
    record Generated(List<? extends Message> resources, String version, Map<String, String> versions,
            NameSet names) {
    }

    /** Two generations compared by identity: they are shared, and deep equality would cost a full traversal. */
    private record DiffKey(IdentityOf from, IdentityOf to) {
    }

    private record IdentityOf(Generated g) {
        @Override
        public boolean equals(Object o) {
            return o instanceof IdentityOf i && i.g == g;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(g);
        }
    }

    /**
     * What the generators read from a proxy: kind, namespace, labels, its IP only where it matters, and its locality
     * for EDS only (locality load balancing gives each locality its own priorities and weights; with it the node when
     * a service prefers its node), its IDLE_TIMEOUT for LDS only.
     */
    private record Shape(ProxyInfo.Type type, String namespace, Map<String, String> labels, String ip,
            String locality, java.time.Duration idleTimeout) {
    }

    private record Key(String type, Shape shape, NameSet names) {
    }

    /** Everything cached for one snapshot. */
    private static final class PerSnapshot {
        final long version;
        final MeshSnapshot snapshot;
        final Map<Key, Generated> entries = new ConcurrentHashMap<>();
        final Map<DiffKey, List<Message>> diffs = new ConcurrentHashMap<>();
        private volatile Set<String> endpointAddresses;
        private volatile Boolean nodeMatters;

        PerSnapshot(MeshSnapshot snapshot) {
            this.version = snapshot.version();
            this.snapshot = snapshot;
        }

        /** Whether EDS depends on a proxy's node in this snapshot (PreferSameNode), found once. */
        boolean nodeMatters() {
            Boolean b = nodeMatters;
            if (b == null) {
                nodeMatters = b = io.mesh.pilot.generator.ProxyLocality.nodeMatters(snapshot);
            }
            return b;
        }

        /** Every endpoint address of the snapshot, built once: does a proxy serve endpoints itself? */
        Set<String> endpointAddresses() {
            Set<String> a = endpointAddresses;
            if (a == null) {
                Set<String> out = new HashSet<>();
                for (List<Endpoint> eps : snapshot.endpoints().values()) {
                    for (Endpoint e : eps) {
                        out.add(e.address());
                    }
                }
                endpointAddresses = a = Set.copyOf(out);
            }
            return a;
        }
    }

    private final Generator generator;
    private volatile PerSnapshot current = new PerSnapshot(MeshSnapshot.EMPTY);
    /** The last generation per resource name and type: instances reused when their content is unchanged. */
    private final Map<String, Map<String, Versioned>> previous = new ConcurrentHashMap<>();

    private record Versioned(Message message, String version) {
    }

    GenerationCache(Generator generator) {
        this.generator = generator;
    }

    /** The resources of {@code to} whose content differs from {@code from}: an incremental SotW EDS push. */
    List<Message> changed(Generated from, Generated to) {
        return forSnapshotOf(null).diffs.computeIfAbsent(new DiffKey(new IdentityOf(from), new IdentityOf(to)), k -> {
            List<Message> out = new ArrayList<>();
            for (Message m : to.resources()) {
                String name = Resources.getResourceName(m);
                if (!to.versions().get(name).equals(from.versions().get(name))) {
                    out.add(m);
                }
            }
            return List.copyOf(out);
        });
    }

    Generated get(String type, ProxyInfo proxy, MeshSnapshot snapshot, NameSet names) {
        PerSnapshot per = forSnapshotOf(snapshot);
        Key key = new Key(type, shape(type, proxy, per), names);
        return per.entries.computeIfAbsent(key, k -> generate(type, proxy, snapshot, names));
    }

    private Generated generate(String type, ProxyInfo proxy, MeshSnapshot snapshot, NameSet names) {
        long start = System.nanoTime();
        List<? extends Message> generated = generator.generate(type, proxy, snapshot, names.names());
        long generatedAt = System.nanoTime();
        Map<String, Versioned> known = previous.computeIfAbsent(type, t -> new ConcurrentHashMap<>());
        List<Message> resources = new ArrayList<>(generated.size());
        Map<String, String> versions = new HashMap<>();
        for (Message m : generated) {
            String name = Resources.getResourceName(m);
            String v = version(m);
            Versioned before = known.get(name);
            Message kept = before != null && before.version().equals(v) ? before.message() : m;
            if (kept == m) {
                known.put(name, new Versioned(m, v));
            }
            resources.add(kept);
            versions.put(name, v);
        }
        Generated g = new Generated(List.copyOf(resources), responseVersion(resources, versions, names),
                Map.copyOf(versions), names);
        if (LOG.isDebugEnabled()) {
            LOG.debugf("generated %d %s for %s in %.1f ms (+%.1f ms hashing) for snapshot %d", resources.size(),
                    XdsMetrics.shortType(type), proxy.type(), (generatedAt - start) / 1e6,
                    (System.nanoTime() - generatedAt) / 1e6, snapshot.version());
        }
        return g;
    }

    /** One resource's version: a hash of its content. */
    static String version(Message m) {
        return Hashing.murmur3_128().hashBytes(m.toByteArray()).toString().substring(0, 16);
    }

    /**
     * A response's version: a hash of the requested names and of each resource's name and content version, so
     * equal content means an equal version, without serializing the resources a second time.
     */
    private static String responseVersion(List<Message> resources, Map<String, String> versions, NameSet names) {
        Hasher h = Hashing.murmur3_128().newHasher();
        new TreeSet<>(names.names()).forEach(n -> h.putString(n, StandardCharsets.UTF_8).putByte((byte) 0));
        h.putByte((byte) 1);
        for (Message m : resources) {
            String name = Resources.getResourceName(m);
            h.putString(name, StandardCharsets.UTF_8).putByte((byte) 0)
                    .putString(versions.get(name), StandardCharsets.UTF_8);
        }
        return h.hash().toString().substring(0, 16);
    }

    /** The cache of this snapshot; a newer snapshot replaces the older one's. Null: whatever is current. */
    private PerSnapshot forSnapshotOf(MeshSnapshot snapshot) {
        PerSnapshot per = current;
        if (snapshot == null || per.version == snapshot.version()) {
            return per;
        }
        if (snapshot.version() < per.version) {
            return new PerSnapshot(snapshot); // a late request on an older snapshot: answered, not cached
        }
        synchronized (this) {
            per = current;
            if (per.version != snapshot.version()) {
                per = new PerSnapshot(snapshot);
                current = per;
            }
            return per;
        }
    }

    /** What the generators read from the proxy for this type; proxies with equal shapes get equal resources. */
    private static Shape shape(String type, ProxyInfo proxy, PerSnapshot per) {
        boolean perInstance = proxy.type() == ProxyInfo.Type.SIDECAR
                && (type.equals(Resources.V3.LISTENER_TYPE_URL) || type.equals(Resources.V3.CLUSTER_TYPE_URL))
                && per.endpointAddresses().contains(proxy.ip());
        String locality = "";
        if (type.equals(Resources.V3.ENDPOINT_TYPE_URL)) {
            locality = io.mesh.pilot.generator.ProxyLocality.of(proxy, per.snapshot);
            if (per.nodeMatters()) {
                // '|' is in no locality: "region/zone/subzone|node".
                locality += "|" + io.mesh.pilot.generator.ProxyLocality.node(proxy, per.snapshot);
            }
        }
        // LDS: the node's IDLE_TIMEOUT is the idle timeout of tcp_proxy filters no DestinationRule gives one.
        java.time.Duration idle = type.equals(Resources.V3.LISTENER_TYPE_URL) ? proxy.idleTimeout() : null;
        return new Shape(proxy.type(), proxy.namespace(), proxy.labels(), perInstance ? proxy.ip() : "", locality, idle);
    }
}
