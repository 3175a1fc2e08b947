package io.mesh.pilot.xds;

import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.Watch;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One ADS stream: who it is, and per type what it watches, what was sent, ACKed and NACKed.
 *
 * <p>Thread-safety: the per-type state is guarded by this object's monitor. {@link #queued} is the push queue of
 * depth one: a newer snapshot replaces a queued one (merge and dedupe), so a slow client holds at most one.
 */
public final class XdsConnection {
    final long streamId;
    final ProxyInfo proxy;
    final boolean delta;
    final Instant connectedAt;
    final Map<String, TypeState> types = new LinkedHashMap<>();
    final AtomicReference<QueuedPush> queued = new AtomicReference<>();
    /** Holds one of the push budget's permits until its last response is written out (see PushWatcher). */
    final java.util.concurrent.atomic.AtomicBoolean holdsPermit = new java.util.concurrent.atomic.AtomicBoolean();
    volatile Runnable closer = () -> { };
    volatile java.util.function.BooleanSupplier ready = () -> true;

    record QueuedPush(MeshSnapshot snapshot, boolean full, Instant start) {
        QueuedPush merge(QueuedPush older) {
            if (older == null) {
                return this;
            }
            return new QueuedPush(snapshot, full || older.full, older.start.isBefore(start) ? older.start : start);
        }
    }

    /** A NACK as the client reported it. */
    public record Nack(String version, String nonce, String message, Instant at) {
    }

    static final class TypeState {
        Watch watch;
        DeltaWatch deltaWatch;
        String baseline;
        NameSet names = NameSet.ALL;
        String lastSent;
        String lastNonce;
        String lastAcked;
        Nack lastNack;
        Instant pushStart;
        Instant sentAt;
        int resourceCount;
        /** The last full generation sent (shared between proxies), for incremental EDS. */
        GenerationCache.Generated lastGenerated;
    }

    XdsConnection(long streamId, ProxyInfo proxy, boolean delta, Instant connectedAt) {
        this.streamId = streamId;
        this.proxy = proxy;
        this.delta = delta;
        this.connectedAt = connectedAt;
    }

    TypeState type(String typeUrl) {
        return types.computeIfAbsent(typeUrl, t -> new TypeState());
    }

    public ProxyInfo proxy() {
        return proxy;
    }

    /** What /debug/syncz shows: one line per type. */
    public record TypeStatus(String type, String sent, String acked, int resources, Nack lastNack) {
    }

    /** True when a response has waited longer than {@code limit} for its ACK or NACK. */
    synchronized boolean stuck(Instant now, java.time.Duration limit) {
        for (TypeState ts : types.values()) {
            boolean unanswered = ts.lastSent != null && !ts.lastSent.equals(ts.lastAcked)
                    && (ts.lastNack == null || !ts.lastSent.equals(ts.lastNack.version()));
            if (unanswered && ts.sentAt != null && ts.sentAt.plus(limit).isBefore(now)) {
                return true;
            }
        }
        return false;
    }

    public synchronized java.util.List<TypeStatus> status() {
        return types.entrySet().stream().map(e -> new TypeStatus(XdsMetrics.shortType(e.getKey()),
                e.getValue().lastSent, e.getValue().lastAcked, e.getValue().resourceCount, e.getValue().lastNack))
                .toList();
    }

    public synchronized Map<String, Set<String>> watchedNames() {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        types.forEach((t, s) -> out.put(t, s.names.names()));
        return out;
    }

    public long streamId() {
        return streamId;
    }

    public boolean delta() {
        return delta;
    }
}
