package io.mesh.gateway.proxy;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The data plane's downstream connections and their drains: the connection cap, each HTTP connection's side and
 * requests in flight, the fast path's connections, and the two drains istio-agent asks of Envoy: the inbound side's
 * ({@code drain_listeners?inboundonly}: a sidecar's captured inbound, at termination or {@code POST /drain}) and
 * everything's (a router's, and a sidecar's at exit). A drain refuses new connections on its side, sends HTTP/2 GOAWAY,
 * closes each HTTP/1.1 connection as soon as it has no request in flight (new responses carry
 * {@code connection: close}: {@link #draining(boolean)}), and closes what is left at its deadline; then its listeners
 * close (a callback of the data plane's). It never undoes itself: once a side drains it stays drained.
 * <p>
 * Thread-safety: the flags are volatile and read on every request ({@link #draining(boolean)}: one field); the maps
 * are concurrent; each connection's count of requests in flight is only written by its own event loop; drains start
 * under this object's lock, each once (a second request gets the first one's future, its deadline brought forward if
 * the new one is sooner).
 */
final class ConnectionDrain {

    /** An HTTP connection's drain side and requests in flight. */
    private static final class Tracked {
        final boolean inboundSide;
        long inFlight;

        Tracked(boolean inboundSide) {
            this.inboundSide = inboundSide;
        }
    }

    private final Vertx vertx;
    private final int maxConnections;
    private final Map<HttpConnection, Tracked> connections = new ConcurrentHashMap<>();
    /** Connections the fast path has served (a drain closes them once idle); see {@link FastPathHandler}. */
    private final Set<FastPathHandler> fastConnections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger open = new AtomicInteger();
    /** The inbound side drains, and readiness fails: set by every drain, so in a router it goes with {@link #all}. */
    private volatile boolean inbound;
    /** Everything drains: a router's listeners, and a sidecar's outbound capture and bound listeners (at exit). */
    private volatile boolean all;
    private Future<Void> inboundDrain;
    private Future<Void> allDrain;
    /** The drains' deadlines ({@code System.nanoTime()}). */
    private volatile long inboundDeadline;
    private volatile long allDeadline;

    ConnectionDrain(Vertx vertx, int maxConnections) {
        this.vertx = vertx;
        this.maxConnections = maxConnections;
    }

    /** Whether a drain has begun (readiness fails): the inbound side's, or everything's. */
    boolean draining() {
        return inbound;
    }

    /**
     * Whether connections on this side drain now: {@code inboundSide} (a sidecar's captured inbound) from the first
     * drain, the rest (a router's listeners, a sidecar's outbound capture and bound listeners) only when all drain.
     */
    boolean draining(boolean inboundSide) {
        return inboundSide ? inbound : all;
    }

    /**
     * Takes a slot under the connection cap; false when full or when {@code inboundSide}'s side drains. The count never
     * passes the cap.
     */
    boolean acquire(boolean inboundSide) {
        while (!draining(inboundSide)) {
            int n = open.get();
            if (n >= maxConnections) {
                return false;
            }
            if (open.compareAndSet(n, n + 1)) {
                return true;
            }
        }
        return false;
    }

    /** A connection closed: its slot under the cap is free (paired with a successful {@link #acquire}). */
    void release() {
        open.decrementAndGet();
    }

    int open() {
        return open.get();
    }

    /** Tracks an HTTP connection for the drain of its side ({@code inboundSide}: a sidecar's captured inbound). */
    void track(HttpConnection c, boolean inboundSide) {
        connections.put(c, new Tracked(inboundSide));
    }

    void untrack(HttpConnection c) {
        connections.remove(c);
    }

    void trackFast(FastPathHandler h) {
        fastConnections.add(h);
    }

    void untrackFast(FastPathHandler h) {
        fastConnections.remove(h);
    }

    void requestStarted(HttpConnection c) {
        Tracked s = connections.get(c);
        if (s != null) {
            s.inFlight++;
        }
    }

    void requestDone(HttpConnection c) {
        Tracked s = connections.get(c);
        if (s != null && --s.inFlight == 0) {
            ConnectionGuard.idle(c);
        }
    }

    /** Drains everything within {@code bound}, then {@code closeListeners} (every listener and upstream pool). */
    synchronized Future<Void> drainAll(Duration bound, Supplier<Future<?>> closeListeners) {
        long deadline = System.nanoTime() + bound.toNanos();
        if (allDrain == null) {
            inbound = true;
            all = true;
            allDeadline = deadline;
            allDrain = drain(bound, false, closeListeners);
        } else if (deadline - allDeadline < 0) {
            allDeadline = deadline;
        }
        return allDrain;
    }

    /** Drains the inbound side within {@code bound}, then {@code closeInbound} (its capture listener); the rest serves on. */
    synchronized Future<Void> drainInbound(Duration bound, Supplier<Future<?>> closeInbound) {
        long deadline = System.nanoTime() + bound.toNanos();
        if (inboundDrain == null) {
            inbound = true;
            inboundDeadline = deadline;
            inboundDrain = drain(bound, true, closeInbound);
        } else if (deadline - inboundDeadline < 0) {
            inboundDeadline = deadline;
        }
        return inboundDrain;
    }

    private Future<Void> drain(Duration bound, boolean inboundOnly, Supplier<Future<?>> close) {
        for (Map.Entry<HttpConnection, Tracked> e : connections.entrySet()) {
            if (!inboundOnly || e.getValue().inboundSide) {
                try {
                    e.getKey().shutdown(bound.toMillis());
                } catch (UnsupportedOperationException http1) {
                    // closed by a tick once idle
                }
            }
        }
        Promise<Void> done = Promise.promise();
        tick(inboundOnly, close, done);
        return done.future();
    }

    /**
     * One drain check every 25 ms until every connection of the draining side is closed or its deadline passes, then
     * {@code close} and {@code done} completes. Each check schedules the next one-shot timer itself: a periodic timer
     * cancelled from its own first run can race with its scheduling in Vert.x (an NPE in cancel when drain starts off
     * the event loop), which left the drain future never completed.
     */
    private void tick(boolean inboundOnly, Supplier<Future<?>> close, Promise<Void> done) {
        vertx.setTimer(25, id -> {
            boolean overdue = System.nanoTime() - (inboundOnly ? inboundDeadline : allDeadline) > 0;
            boolean left = false;
            for (Map.Entry<HttpConnection, Tracked> e : connections.entrySet()) {
                if (inboundOnly && !e.getValue().inboundSide) {
                    continue;
                }
                left = true;
                if (overdue || e.getValue().inFlight == 0) {
                    e.getKey().close();
                }
            }
            for (FastPathHandler f : fastConnections) {
                if (!inboundOnly || f.inboundSide) {
                    left = true;
                    f.closeIfIdle(overdue);
                }
            }
            if (left && !overdue) {
                tick(inboundOnly, close, done);
                return;
            }
            close.get().onComplete(x -> done.complete());
        });
    }
}
