package io.mesh.gateway.agent;

import jakarta.inject.Singleton;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * istio-agent's {@code POST /drain} ({@code DrainNow}): the pod's shutdown has begun (Istio's preStop hook of a native
 * sidecar calls it), so the proxy starts draining its inbound side without exiting; the SIGTERM that follows once the
 * app has stopped then exits at once. Owns only the request; the proxy registers what draining means
 * ({@link #onRequest}) once it has started.
 */
@Singleton
public class DrainRequest {

    private final AtomicBoolean requested = new AtomicBoolean();
    private volatile Runnable drain;

    /** Starts the drain once (later calls change nothing); before the proxy has started, as soon as it has. */
    public void request() {
        if (requested.compareAndSet(false, true)) {
            Runnable d = drain;
            if (d != null) {
                d.run();
            }
        }
    }

    /** The proxy's drain, run at the request, or at once if it was requested already (it may run twice: idempotent). */
    public void onRequest(Runnable proxyDrain) {
        drain = proxyDrain;
        if (requested.get()) {
            proxyDrain.run();
        }
    }

    public boolean requested() {
        return requested.get();
    }
}
