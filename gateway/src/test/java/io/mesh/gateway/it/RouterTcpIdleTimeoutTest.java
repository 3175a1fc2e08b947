package io.mesh.gateway.it;

import static io.mesh.gateway.it.TcpProxyFixtures.cluster;
import static io.mesh.gateway.it.TcpProxyFixtures.open;
import static io.mesh.gateway.it.TcpProxyFixtures.roundTrip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
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
 * tcp_proxy's {@code idle_timeout} on a router's TCP listeners, in the form pilot sends it: a connection that moves no
 * byte for the timeout is closed on both ends (the client and the backend each see their connection end) and counted
 * closed; one that keeps moving bytes, however slowly, stays open; a half-closed one that goes quiet is closed too;
 * {@code 0s} and Envoy's default (no idle_timeout: 1h) never close one here. Real sockets, a real gateway; the waits are
 * for events (a connection's end), never for a time.
 */
class RouterTcpIdleTimeoutTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final long IDLE_MS = 600;
    /** The slow sender's listener: long enough that only a stall of seconds could pass it between two paced sends. */
    static final long SLOW_IDLE_MS = 2000;
    static TestGateway gw;
    /** Listeners: a 600 ms idle timeout, 2 s for the slow sender, 0s, none (Envoy's 1h), and 600 ms to a quiet backend. */
    static int idle;
    static int slow;
    static int never;
    static int hour;
    static int quiet;
    /** Per connection id (the first line a client sends the echo backend), its end at the backend. */
    static final Map<String, CompletableFuture<Void>> backendClosed = new ConcurrentHashMap<>();
    /** The quiet backend's connections, read to their end and held open. */
    static final List<Socket> held = java.util.Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void start() throws Exception {
        int echo = echo();
        int silent = quietBackend();
        idle = FreePorts.next();
        slow = FreePorts.next();
        never = FreePorts.next();
        hour = FreePorts.next();
        quiet = FreePorts.next();
        com.google.protobuf.Duration timeout = com.google.protobuf.Duration.newBuilder().setNanos((int) (IDLE_MS * 1_000_000)).build();
        com.google.protobuf.Duration slowTimeout = com.google.protobuf.Duration.newBuilder().setSeconds(SLOW_IDLE_MS / 1000).build();
        com.google.protobuf.Duration zero = com.google.protobuf.Duration.getDefaultInstance();
        MESH.pilot().set(List.of(Xds.edsCluster(cluster("idle")), Xds.edsCluster(cluster("slow")),
                        Xds.edsCluster(cluster("never")), Xds.edsCluster(cluster("hour")), Xds.edsCluster(cluster("quiet"))),
                List.of(Xds.endpoints(cluster("idle"), echo), Xds.endpoints(cluster("slow"), echo),
                        Xds.endpoints(cluster("never"), echo), Xds.endpoints(cluster("hour"), echo),
                        Xds.endpoints(cluster("quiet"), silent)),
                List.of(listener(idle, "idle", timeout), listener(slow, "slow", slowTimeout), listener(never, "never", zero),
                        listener(hour, "hour", null), listener(quiet, "quiet", timeout)),
                List.of(), List.of());
        gw = MESH.startGateway(Map.of());
    }

    /** A TCP listener whose one chain is a tcp_proxy to {@code name}'s cluster with this idle_timeout (null: none). */
    static Listener listener(int port, String name, com.google.protobuf.Duration idleTimeout) {
        return TcpProxyFixtures.listener(port, name, t -> idleTimeout == null ? t : t.setIdleTimeout(idleTimeout));
    }

    /** An echo server; a connection's first line is its id, whose future completes when the connection ends here. */
    static int echo() throws Exception {
        return TcpProxyFixtures.echo(MESH.vertx(), backendClosed);
    }

    /** A server that reads each connection to its end (the client's half-close), then holds it open, sending nothing. */
    static int quietBackend() throws IOException {
        int port = FreePorts.next();
        ServerSocket server = MESH.closing(new ServerSocket(port, 50, InetAddress.getLoopbackAddress()));
        MESH.closing(() -> {
            synchronized (held) {
                for (Socket s : held) {
                    s.close();
                }
            }
        });
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    held.add(s);
                    s.setSoTimeout(10_000);
                    s.getInputStream().readAllBytes();
                } catch (IOException e) {
                    // closed, or a client that went away
                }
            }
        }, "quiet-backend");
        t.setDaemon(true);
        t.start();
        return port;
    }

    /** Blocks until the gateway ends {@code s} (an end of stream, or a reset); fails after the socket's 10 s timeout. */
    static void awaitEnd(Socket s) throws IOException {
        try {
            assertEquals(-1, s.getInputStream().read(), "nothing but the end");
        } catch (SocketException reset) {
            // closed with data unread on the gateway's side: a reset instead of an end of stream
        }
    }

    static double count(String meter, String name) {
        return gw.registry.find(meter).tag("destination_service", name + ".demo.svc.cluster.local").counters().stream()
                .mapToDouble(c -> c.count()).sum();
    }

    @Test
    void anIdleConnectionIsClosedOnBothEndsAndCountedClosed() throws Exception {
        try (Socket s = open(idle, "idle-1")) {
            awaitEnd(s);   // the client's end, while the client itself keeps its socket open
            backendClosed.get("idle-1").get(10, TimeUnit.SECONDS);   // and the backend's
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().openConnections() == 0);
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> count("istio_tcp_connections_closed", "idle") == count("istio_tcp_connections_opened", "idle"));
        }
    }

    @Test
    void aConnectionThatKeepsSendingSlowlyStaysOpen() throws Exception {
        try (Socket s = open(slow, "slow-1")) {
            for (int i = 0; i < 15; i++) {
                // Pacing the sends (15 x 200 ms, 1.5 idle timeouts of 2 s in all), not waiting for anything.
                Thread.sleep(200);
                assertEquals("tick " + i, roundTrip(s, "tick " + i));
            }
            assertFalse(backendClosed.get("slow-1").isDone(), "still open at the backend");
        }
        backendClosed.get("slow-1").get(10, TimeUnit.SECONDS);   // closed by the client, the end passed on
    }

    @Test
    void anIdleTimeoutOfZeroOrEnvoysDefaultHourDoesNotCloseAQuietConnection() throws Exception {
        try (Socket zero = open(never, "never-1"); Socket none = open(hour, "hour-1");
                Socket reference = open(idle, "reference-1")) {
            // The reference connection, opened last and as quiet, is closed at 600 ms: the others have been idle longer.
            awaitEnd(reference);
            assertEquals("still here\n", roundTrip(zero, "still here\n"));
            assertEquals("still here\n", roundTrip(none, "still here\n"));
            assertFalse(backendClosed.get("never-1").isDone());
            assertFalse(backendClosed.get("hour-1").isDone());
        }
    }

    @Test
    void aHalfClosedConnectionThatGoesQuietIsClosedToo() throws Exception {
        try (Socket s = new Socket("127.0.0.1", quiet)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("request".getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            s.shutdownOutput();   // passed on; the backend reads to the end and holds its side open, sending nothing
            awaitEnd(s);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().openConnections() == 0);
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> count("istio_tcp_connections_closed", "quiet") == 1);
        }
    }
}
