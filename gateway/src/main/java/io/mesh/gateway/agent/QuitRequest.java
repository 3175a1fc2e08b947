package io.mesh.gateway.agent;

import io.quarkus.runtime.Quarkus;
import jakarta.inject.Singleton;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * istio-agent's {@code POST /quitquitquit}: the app (a Job's main container, done) tells the proxy to exit. The process
 * stops as on SIGTERM, with exit code 0 (a Job's pod succeeds only when every container exits 0), and without the
 * termination drain's wait once no request is in flight ({@link TerminationDrain#quit()}).
 */
@Singleton
public class QuitRequest {

    private final AtomicBoolean requested = new AtomicBoolean();

    /** Starts the shutdown once; later calls change nothing. */
    public void request() {
        if (requested.compareAndSet(false, true)) {
            Quarkus.asyncExit(0);
        }
    }

    public boolean requested() {
        return requested.get();
    }
}
