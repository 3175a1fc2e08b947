package io.mesh.pilot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The debounce rules with a manual clock: no sleeps, exact times. */
class PushDebouncerTest {

    /** A scheduler whose time only moves when the test says so. */
    static final class ManualScheduler implements Scheduler {
        record Task(Instant at, long seq, Runnable run) {
        }

        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        long seq;
        final PriorityQueue<Task> tasks = new PriorityQueue<>(Comparator.comparing(Task::at)
                .thenComparingLong(Task::seq));

        @Override
        public Instant now() {
            return now;
        }

        @Override
        public void schedule(Duration delay, Runnable task) {
            tasks.add(new Task(now.plus(delay), seq++, task));
        }

        void advance(Duration d) {
            Instant end = now.plus(d);
            while (!tasks.isEmpty() && !tasks.peek().at().isAfter(end)) {
                Task t = tasks.poll();
                now = t.at();
                t.run().run();
            }
            now = end;
        }
    }

    final ManualScheduler clock = new ManualScheduler();
    final List<PushRequest> pushes = new ArrayList<>();
    final PushDebouncer debouncer = new PushDebouncer(clock, Duration.ofMillis(100), Duration.ofSeconds(10),
            pushes::add);

    @Test
    void pushesAfterAQuietPeriod() {
        debouncer.enqueue(PushRequest.config("config", clock.now()));
        clock.advance(Duration.ofMillis(99));
        assertTrue(pushes.isEmpty());
        clock.advance(Duration.ofMillis(1));
        assertEquals(1, pushes.size());
    }

    @Test
    void mergesEventsInABurstIntoOnePush() {
        for (int i = 0; i < 5; i++) {
            debouncer.enqueue(i % 2 == 0 ? PushRequest.endpoints(Set.of("h" + i), clock.now())
                    : PushRequest.config("config", clock.now()));
            clock.advance(Duration.ofMillis(50));
        }
        clock.advance(Duration.ofMillis(100));
        assertEquals(1, pushes.size());
        assertTrue(pushes.get(0).full());
        assertEquals(Set.of("h0", "h2", "h4"), pushes.get(0).endpointHosts());
    }

    @Test
    void endpointOnlyBurstStaysOnTheFastPath() {
        debouncer.enqueue(PushRequest.endpoints(Set.of("a"), clock.now()));
        debouncer.enqueue(PushRequest.endpoints(Set.of("b"), clock.now()));
        clock.advance(Duration.ofMillis(100));
        assertEquals(1, pushes.size());
        assertFalse(pushes.get(0).full());
    }

    @Test
    void aSteadyStreamOfEventsStillPushesAtTheMaximumDelay() {
        for (int i = 0; i < 200; i++) {
            debouncer.enqueue(PushRequest.config("config", clock.now()));
            clock.advance(Duration.ofMillis(60));
        }
        assertTrue(pushes.size() >= 1, "no push within 12 s of constant changes");
        assertEquals(1, pushes.size(), "exactly one push at the 10 s ceiling");
    }

    @Test
    void eventsDuringAPushAreMergedIntoTheNextOne() {
        List<PushRequest> seen = new ArrayList<>();
        PushDebouncer[] self = new PushDebouncer[1];
        self[0] = new PushDebouncer(clock, Duration.ofMillis(100), Duration.ofSeconds(10), r -> {
            seen.add(r);
            if (seen.size() == 1) {
                // A change arrives while this push is in flight.
                self[0].enqueue(PushRequest.config("during", clock.now()));
                self[0].enqueue(PushRequest.config("during2", clock.now()));
            }
        });
        self[0].enqueue(PushRequest.config("first", clock.now()));
        clock.advance(Duration.ofMillis(100));
        assertEquals(1, seen.size());
        clock.advance(Duration.ofMillis(100));
        assertEquals(2, seen.size());
        assertEquals(Set.of("during", "during2"), seen.get(1).reasons());
    }
}
