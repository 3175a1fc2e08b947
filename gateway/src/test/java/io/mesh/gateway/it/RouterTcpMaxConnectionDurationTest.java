package io.mesh.gateway.it;

import static io.mesh.gateway.it.TcpProxyFixtures.cluster;
import static io.mesh.gateway.it.TcpProxyFixtures.open;
import static io.mesh.gateway.it.TcpProxyFixtures.roundTrip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * tcp_proxy's {@code max_downstream_connection_duration} (pilot's from DestinationRule
 * {@code connectionPool.tcp.maxConnectionDuration}) on a router's TCP listener: a connection that keeps moving bytes is
 * closed on both ends once the duration has passed since it was taken, every byte before that relayed both ways; one
 * on a chain without it stays open. Real sockets, a real gateway; the waits are for events (a connection's end).
 */
class RouterTcpMaxConnectionDurationTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final long MAX_MS = 800;
    static TestGateway gw;
    /** Listeners: an 800 ms maximum duration, and none. */
    static int limited;
    static int unlimited;
    /** Per connection id (the first line a client sends the echo backend), its end at the backend. */
    static final Map<String, CompletableFuture<Void>> backendClosed = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        int echo = echo();
        limited = FreePorts.next();
        unlimited = FreePorts.next();
        com.google.protobuf.Duration max = com.google.protobuf.Duration.newBuilder()
                .setNanos((int) (MAX_MS * 1_000_000)).build();
        MESH.pilot().set(List.of(Xds.edsCluster(cluster("limited")), Xds.edsCluster(cluster("unlimited"))),
                List.of(Xds.endpoints(cluster("limited"), echo), Xds.endpoints(cluster("unlimited"), echo)),
                List.of(listener(limited, "limited", max), listener(unlimited, "unlimited", null)), List.of(), List.of());
        gw = MESH.startGateway(Map.of());
    }

    /** A TCP listener whose one chain is a tcp_proxy to {@code name}'s cluster with this maximum (null: none). */
    static Listener listener(int port, String name, com.google.protobuf.Duration max) {
        return TcpProxyFixtures.listener(port, name, t -> max == null ? t : t.setMaxDownstreamConnectionDuration(max));
    }

    /** An echo server; a connection's first line is its id, whose future completes when the connection ends here. */
    static int echo() throws Exception {
        return TcpProxyFixtures.echo(MESH.vertx(), backendClosed);
    }

    static double count(String meter, String name) {
        return gw.registry.find(meter).tag("destination_service", name + ".demo.svc.cluster.local").counters().stream()
                .mapToDouble(c -> c.count()).sum();
    }

    @Test
    void aBusyConnectionIsClosedOnBothEndsOnceTheDurationPassesAndEverythingBeforeIsRelayed() throws Exception {
        long opened = System.nanoTime();
        int echoed = 0;
        try (Socket s = open(limited, "busy-1")) {
            for (int i = 0; i < 200; i++) {
                String tick = "tick " + i + "\n";
                String back;
                try {
                    back = roundTrip(s, tick);
                } catch (IOException reset) {
                    break;   // closed with data unread on the gateway's side: a reset instead of an end of stream
                }
                if (!back.equals(tick)) {
                    assertTrue(tick.startsWith(back), "only a cut-short echo at the end: " + back);
                    break;
                }
                echoed++;
                Thread.sleep(50);   // pacing the sends (an idle timeout would never fire), not waiting for anything
            }
            long lived = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - opened);
            assertTrue(lived >= MAX_MS, "closed after " + lived + " ms, not before the maximum");
            assertTrue(echoed >= 3, "the bytes before the end went both ways: " + echoed + " ticks");
            backendClosed.get("busy-1").get(10, TimeUnit.SECONDS);   // the backend's connection ended too
        }
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> count("istio_tcp_connections_closed", "limited") == count("istio_tcp_connections_opened", "limited"));
    }

    @Test
    void aConnectionOnAChainWithoutAMaximumOutlivesOneWithIt() throws Exception {
        try (Socket open = open(unlimited, "open-1"); Socket reference = open(limited, "reference-1")) {
            // The reference, opened last, ends at 800 ms: the other has lived longer by then.
            try {
                assertEquals(-1, reference.getInputStream().read(), "nothing but the end");
            } catch (java.net.SocketException reset) {
                // a reset instead of an end of stream
            }
            assertEquals("still here\n", roundTrip(open, "still here\n"));
            assertFalse(backendClosed.get("open-1").isDone(), "still open at the backend");
        }
    }
}
