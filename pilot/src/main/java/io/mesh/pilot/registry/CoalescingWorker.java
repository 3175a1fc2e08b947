package io.mesh.pilot.registry;

import io.mesh.common.concurrent.DaemonThreads;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs one task on a thread of its own, soon after each {@link #request}, once for any number of requests made while a
 * run is pending: the follow-up work of a config change (status writes, gateway deployments) that must not run on the
 * watch threads nor once per event. A request made while the task runs gives one more run, so the last change is
 * always seen.
 *
 * <p>Thread-safety: {@link #request} and {@link #close} may be called from any thread.
 */
final class CoalescingWorker implements AutoCloseable {
    private final Runnable task;
    private final ExecutorService thread;
    private final AtomicBoolean pending = new AtomicBoolean();
    private volatile boolean running;

    CoalescingWorker(String threadName, Runnable task) {
        this.task = task;
        this.thread = Executors.newSingleThreadExecutor(DaemonThreads.named(threadName));
    }

    /** Asks for a run (soon, once for any number of requests meanwhile); nothing after {@link #close}. */
    void request() {
        if (pending.compareAndSet(false, true)) {
            try {
                thread.execute(() -> {
                    running = true;
                    pending.set(false);
                    try {
                        task.run();
                    } finally {
                        running = false;
                    }
                });
            } catch (RejectedExecutionException e) {
                pending.set(false);   // closed
            }
        }
    }

    /** Whether no run is pending nor running (for tests, which wait for the work a change caused to be done). */
    boolean idle() {
        return !pending.get() && !running;
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
