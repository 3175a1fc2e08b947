package io.mesh.pilot.model;

import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * Merges change events into one push: it fires after {@code quiet} with no new event, or at the latest
 * {@code max} after the first one, and never while a push is in flight (Istio's xds/discovery.go debounce).
 * Endpoint-only requests travel the same path; the push itself takes the fast EDS path for them.
 *
 * <p>Thread-safety: all state is guarded by {@code this}; the push runs outside the lock on the scheduler's thread.
 */
public final class PushDebouncer {
    private final Scheduler scheduler;
    private final Duration quiet;
    private final Duration max;
    private final Consumer<PushRequest> push;

    private PushRequest pending;
    private Instant firstEvent;
    private Instant lastEvent;
    private boolean timerArmed;
    private boolean inFlight;

    public PushDebouncer(Scheduler scheduler, Duration quiet, Duration max, Consumer<PushRequest> push) {
        this.scheduler = scheduler;
        this.quiet = quiet;
        this.max = max;
        this.push = push;
    }

    public void enqueue(PushRequest request) {
        synchronized (this) {
            Instant now = scheduler.now();
            if (pending == null) {
                firstEvent = now;
            }
            pending = request.merge(pending);
            lastEvent = now;
            if (timerArmed || inFlight) {
                return;
            }
            timerArmed = true;
        }
        scheduler.schedule(quiet, this::check);
    }

    private void check() {
        PushRequest fire;
        Duration wait;
        synchronized (this) {
            timerArmed = false;
            if (pending == null || inFlight) {
                return;
            }
            Instant now = scheduler.now();
            Duration sinceLast = Duration.between(lastEvent, now);
            Duration sinceFirst = Duration.between(firstEvent, now);
            if (sinceLast.compareTo(quiet) >= 0 || sinceFirst.compareTo(max) >= 0) {
                fire = pending;
                pending = null;
                inFlight = true;
                wait = null;
            } else {
                fire = null;
                Duration toQuiet = quiet.minus(sinceLast);
                Duration toMax = max.minus(sinceFirst);
                wait = toQuiet.compareTo(toMax) < 0 ? toQuiet : toMax;
                timerArmed = true;
            }
        }
        if (fire == null) {
            scheduler.schedule(wait, this::check);
            return;
        }
        try {
            push.accept(fire);
        } finally {
            boolean again;
            synchronized (this) {
                inFlight = false;
                again = pending != null && !timerArmed;
                if (again) {
                    timerArmed = true;
                }
            }
            if (again) {
                scheduler.schedule(Duration.ZERO, this::check);
            }
        }
    }
}
