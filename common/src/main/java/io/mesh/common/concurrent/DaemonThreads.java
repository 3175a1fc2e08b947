package io.mesh.common.concurrent;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Thread factories for the components' background executors (watchers, writers, schedulers). Their threads are
 * daemons: a component's work in the background never keeps the process alive after Quarkus has shut down.
 */
public final class DaemonThreads {
    private DaemonThreads() {
    }

    /** Daemon threads all named {@code name}: for a single-thread executor, whose one thread a dump shows by role. */
    public static ThreadFactory named(String name) {
        return r -> daemon(r, name);
    }

    /** Daemon threads named {@code prefix-1}, {@code prefix-2}, ...: for a pool. */
    public static ThreadFactory numbered(String prefix) {
        AtomicLong n = new AtomicLong();
        return r -> daemon(r, prefix + "-" + n.incrementAndGet());
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
