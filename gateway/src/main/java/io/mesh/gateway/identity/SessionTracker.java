package io.mesh.gateway.identity;

import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;

/**
 * Remembers the TLS session caches in which the workload certificate was used, so that a rotation can end their
 * resumable sessions: a resumed session carries the certificate of its first handshake, and the point of a
 * rotation is that new connections present the new one. Open connections are not touched (invalidating a session
 * only stops it from being resumed). Envoy gets the same effect by building a new TLS context per certificate.
 */
final class SessionTracker {

    private static final int MAX_PENDING = 256;

    private final Set<SSLSessionContext> contexts = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private final Deque<WeakReference<SSLEngine>> pending = new ArrayDeque<>();

    /** Called at each full handshake that presents the workload certificate. */
    void saw(SSLEngine engine) {
        if (engine == null) {
            return;
        }
        SSLSession handshake = engine.getHandshakeSession();
        SSLSessionContext context = handshake == null ? null : handshake.getSessionContext();
        if (context != null) {
            contexts.add(context);
            return;
        }
        // The session joins its cache only when the handshake completes: look again at rotation time.
        synchronized (pending) {
            pending.addLast(new WeakReference<>(engine));
            if (pending.size() > MAX_PENDING) {
                pending.removeFirst();
            }
        }
    }

    /** Makes every cached session that used the previous certificate non-resumable. */
    void invalidateAll() {
        synchronized (pending) {
            for (WeakReference<SSLEngine> ref : pending) {
                SSLEngine engine = ref.get();
                SSLSessionContext context = engine == null ? null : engine.getSession().getSessionContext();
                if (context != null) {
                    contexts.add(context);
                }
            }
            pending.clear();
        }
        List<SSLSessionContext> all;
        synchronized (contexts) {
            all = List.copyOf(contexts);
        }
        for (SSLSessionContext context : all) {
            for (byte[] id : Collections.list(context.getIds())) {
                SSLSession s = context.getSession(id);
                if (s != null) {
                    s.invalidate();
                }
            }
        }
    }
}
