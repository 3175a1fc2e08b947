package io.mesh.pilot.model;

import java.time.Duration;
import java.time.Instant;

/** Time for the push path: production uses a scheduled executor, tests a manual clock. */
public interface Scheduler {
    Instant now();

    /** Runs {@code task} once after {@code delay}. */
    void schedule(Duration delay, Runnable task);
}
