package io.mesh.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** istio-agent's termination settings read from the environment, and when each policy lets the process go. */
class TerminationDrainTest {

    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() {
        vertx.close();
    }

    @Test
    void withoutIstiosVariablesTheDrainEndsOnceIdleWithinTheDrainTimeout() {
        TerminationDrain p = TerminationDrain.from(Map.of(), Duration.ofSeconds(5));
        assertEquals(new TerminationDrain(Duration.ofSeconds(5), false, false, Duration.ofSeconds(5)), p);
    }

    @Test
    void terminationDrainDurationSecondsIsWaitedInFull() {
        TerminationDrain p = TerminationDrain.from(Map.of("TERMINATION_DRAIN_DURATION_SECONDS", "30"), Duration.ofSeconds(5));
        assertEquals(Duration.ofSeconds(30), p.duration());
        assertTrue(p.waitFullDuration());
        assertFalse(p.quit().waitFullDuration(), "/quitquitquit does not wait the duration out");
        assertEquals(Duration.ofSeconds(30), p.quit().duration(), "but still bounds the drain by it");
    }

    @Test
    void afterPostDrainTheExitWaitsForNothing() {
        TerminationDrain p = TerminationDrain.from(Map.of("TERMINATION_DRAIN_DURATION_SECONDS", "30",
                "EXIT_ON_ZERO_ACTIVE_CONNECTIONS", "true"), Duration.ofSeconds(5)).immediate();
        assertEquals(Duration.ZERO, p.duration());
        assertFalse(p.waitFullDuration());
        assertFalse(p.exitOnZeroActiveConnections(), "istio-agent exits at once once drained, connections or not");
        assertTrue(p.await(vertx, () -> 3, Future.succeededFuture()).isComplete());
    }

    @Test
    void exitOnZeroActiveConnectionsReadsGoBooleansAndDurations() {
        TerminationDrain p = TerminationDrain.from(Map.of("EXIT_ON_ZERO_ACTIVE_CONNECTIONS", "True",
                "MINIMUM_DRAIN_DURATION", "1m30s"), Duration.ofSeconds(5));
        assertTrue(p.exitOnZeroActiveConnections());
        assertEquals(Duration.ofSeconds(90), p.minimumDrainDuration());
        assertEquals(Duration.ofMillis(1500), TerminationDrain.goDuration("x", "1.5s"));
        assertEquals(Duration.ofMillis(250), TerminationDrain.goDuration("x", "250ms"));
        assertEquals(Duration.ZERO, TerminationDrain.goDuration("x", "0"));
    }

    @Test
    void aMalformedVariableFailsTheStartNamingIt() {
        assertEquals("TERMINATION_DRAIN_DURATION_SECONDS: '5s' is not a whole number of seconds",
                assertThrows(IllegalArgumentException.class, () -> TerminationDrain.from(
                        Map.of("TERMINATION_DRAIN_DURATION_SECONDS", "5s"), Duration.ofSeconds(5))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TerminationDrain.from(
                Map.of("EXIT_ON_ZERO_ACTIVE_CONNECTIONS", "yes"), Duration.ofSeconds(5))).getMessage()
                .startsWith("EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'yes'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TerminationDrain.from(
                Map.of("MINIMUM_DRAIN_DURATION", "5"), Duration.ofSeconds(5))).getMessage()
                .startsWith("MINIMUM_DRAIN_DURATION: '5' is not a duration"));
    }

    @Test
    void theFullDurationIsWaitedEvenWhenTheDrainEndsFirst() throws Exception {
        TerminationDrain p = new TerminationDrain(Duration.ofMillis(300), true, false, Duration.ZERO);
        long start = System.nanoTime();
        p.await(vertx, () -> 0, Future.succeededFuture()).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(300), "not before the duration");
    }

    @Test
    void exitOnZeroWaitsForTheLastConnectionAfterTheMinimumDrain() throws Exception {
        AtomicInteger open = new AtomicInteger(1);
        AtomicInteger checks = new AtomicInteger();
        TerminationDrain p = new TerminationDrain(Duration.ofSeconds(120), true, true, Duration.ofMillis(50));
        Promise<Void> drained = Promise.promise();
        var done = p.await(vertx, () -> {
            checks.incrementAndGet();
            return open.get();
        }, drained.future()).toCompletionStage().toCompletableFuture();
        // A check past the minimum drain has seen the open connection, and the proxy stays for it.
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> checks.get() >= 1);
        assertFalse(done.isDone());
        open.set(0);
        drained.complete();
        done.get(30, TimeUnit.SECONDS);   // long before the 120 s duration
    }

    @Test
    void loopbackCallersOnly() {
        assertTrue(AgentEndpoints.isLoopback("127.0.0.1"));
        assertTrue(AgentEndpoints.isLoopback("127.3.4.5"));
        assertTrue(AgentEndpoints.isLoopback("::1"));
        assertTrue(AgentEndpoints.isLoopback("0:0:0:0:0:0:0:1"));
        assertFalse(AgentEndpoints.isLoopback("10.0.0.7"));
        assertFalse(AgentEndpoints.isLoopback("fd00::2"));
        assertFalse(AgentEndpoints.isLoopback("localhost"), "a name is never looked up");
        assertFalse(AgentEndpoints.isLoopback(""));
    }
}
