package io.mesh.gateway.it;

import static io.mesh.gateway.it.TcpProxyFixtures.cluster;
import static io.mesh.gateway.it.TcpProxyFixtures.roundTrip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Envoy's tcp_proxy access_log on a router's TCP listeners: one JSON line per connection when it ends, with its bytes
 * both ways, the upstream host and cluster, the downstream addresses and Envoy's TCP response flags (DT when
 * max_downstream_connection_duration closed it, UF when the upstream refused it, UO over the cluster's max_connections);
 * the CEL filter decides at the end; a
 * tcp_proxy without an access log writes none. Real sockets, a real gateway, lines read from {@code io.mesh.gateway.access}.
 */
class TcpAccessLogTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static final Map<String, CompletableFuture<Void>> backendClosed = new ConcurrentHashMap<>();
    static int echo;
    static int refusedPort;
    /** Listeners: logged, logged with a 300 ms maximum duration, to a refused upstream, filtered, not logged. */
    static int logged;
    static int limited;
    static int refused;
    static int filtered;
    static int silent;
    static int capped;
    static int empty;
    /** The one client port the filtered listener's expression lets through. */
    static int chosenClientPort;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        echo = TcpProxyFixtures.echo(MESH.vertx(), backendClosed);
        refusedPort = FreePorts.next();   // nothing listens there
        logged = FreePorts.next();
        limited = FreePorts.next();
        refused = FreePorts.next();
        filtered = FreePorts.next();
        silent = FreePorts.next();
        capped = FreePorts.next();
        empty = FreePorts.next();
        chosenClientPort = FreePorts.next();
        MESH.pilot().set(List.of(Xds.edsCluster(cluster("echo")), Xds.edsCluster(cluster("refused")),
                Xds.edsCluster(cluster("capped")).toBuilder().setCircuitBreakers(
                        io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.newBuilder().addThresholds(
                                io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.Thresholds.newBuilder()
                                        .setMaxConnections(com.google.protobuf.UInt32Value.of(1)))).build(),
                Xds.edsCluster(cluster("empty"))),
                List.of(Xds.endpoints(cluster("echo"), echo), Xds.endpoints(cluster("refused"), refusedPort),
                        Xds.endpoints(cluster("capped"), echo), Xds.endpoints(cluster("empty"))),
                List.of(TcpProxyFixtures.listener(logged, "echo", t -> t.addAccessLog(log(null))),
                        TcpProxyFixtures.listener(limited, "echo", t -> t.addAccessLog(log(null))
                                .setMaxDownstreamConnectionDuration(com.google.protobuf.Duration.newBuilder()
                                        .setNanos(300_000_000))),
                        TcpProxyFixtures.listener(refused, "refused", t -> t.addAccessLog(log(null))),
                        TcpProxyFixtures.listener(filtered, "echo", t -> t.addAccessLog(
                                log("source.port == " + chosenClientPort + " && xds.cluster_name == '" + cluster("echo")
                                        + "'"))),
                        TcpProxyFixtures.listener(silent, "echo", t -> t),
                        TcpProxyFixtures.listener(capped, "capped", t -> t.addAccessLog(log(null))),
                        TcpProxyFixtures.listener(empty, "empty", t -> t.addAccessLog(log(null)))),
                List.of(), List.of());
        MESH.startGateway(Map.of());
    }

    @AfterAll
    static void stop() {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
    }

    /** pilot's access log on a tcp_proxy: the file access log to stdout, under this CEL filter (null: none). */
    static AccessLog log(String expression) {
        AccessLog.Builder b = AccessLog.newBuilder().setName("envoy.access_loggers.file")
                .setTypedConfig(Any.pack(Xds.istioJsonLog("/dev/stdout")));
        if (expression != null) {
            b.setFilter(AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder()
                    .setName("envoy.access_loggers.extension_filters.cel")
                    .setTypedConfig(Any.pack(ExpressionFilter.newBuilder().setExpression(expression).build()))));
        }
        return b.build();
    }

    /** The line of the connection from this client port, once written. */
    static String lineOf(int clientPort) {
        String from = "\"downstream_remote_address\":\"127.0.0.1:" + clientPort + "\"";
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> CAPTURE.lines.stream().anyMatch(l -> l.contains(from)));
        return CAPTURE.lines.stream().filter(l -> l.contains(from)).findFirst().orElseThrow();
    }

    static boolean loggedFrom(int clientPort) {
        return CAPTURE.lines.stream().anyMatch(l -> l.contains("\"downstream_remote_address\":\"127.0.0.1:" + clientPort + "\""));
    }

    /** Reads until the gateway ends the connection (an end of stream, or a reset). */
    static void awaitEnd(Socket s) throws IOException {
        try {
            while (s.getInputStream().read() != -1) {
                // what is still in flight
            }
        } catch (java.net.SocketException reset) {
            // a reset instead of an end of stream
        }
    }

    @Test
    void aConnectionWritesOneLineAtItsEndWithItsBytesAndUpstream() throws Exception {
        int client;
        try (Socket s = TcpProxyFixtures.open(logged, "bytes-1")) {   // 8 bytes each way
            client = s.getLocalPort();
            assertEquals("more\n", roundTrip(s, "more\n"));           // 5 more
        }
        backendClosed.get("bytes-1").get(10, TimeUnit.SECONDS);
        String line = lineOf(client);
        assertTrue(line.contains("\"protocol\":null,"), "Envoy's %PROTOCOL% has no value on TCP: " + line);
        assertTrue(line.contains("\"response_code\":0,"), line);
        assertTrue(line.matches(".*\"upstream_local_address\":\"127\\.0\\.0\\.1:[0-9]+\".*"), line);
        assertTrue(line.contains("\"bytes_received\":13,"), line);
        assertTrue(line.contains("\"bytes_sent\":13,"), line);
        assertTrue(line.contains("\"upstream_host\":\"127.0.0.1:" + echo + "\""), line);
        assertTrue(line.contains("\"upstream_cluster\":\"" + cluster("echo") + "\""), line);
        assertTrue(line.contains("\"downstream_local_address\":\"127.0.0.1:" + logged + "\""), line);
        assertTrue(line.contains("\"response_flags\":\"-\""), line);
        assertTrue(line.matches(".*\"start_time\":\"[0-9T:.Z-]+\".*") && line.matches(".*\"duration\":[0-9]+,.*"), line);
        assertEquals(1, CAPTURE.lines.stream().filter(l -> l.contains("127.0.0.1:" + client + "\"")).count(), "one line");
    }

    @Test
    void aConnectionClosedByTheMaximumDurationHasTheDtFlag() throws Exception {
        int client;
        try (Socket s = TcpProxyFixtures.open(limited, "dt-1")) {
            client = s.getLocalPort();
            awaitEnd(s);
        }
        String line = lineOf(client);
        assertTrue(line.contains("\"response_flags\":\"DT\""), line);
        assertTrue(line.contains("\"bytes_received\":5,"), line);
    }

    @Test
    void anUpstreamThatRefusesTheConnectionGivesTheUfFlag() throws Exception {
        int client;
        try (Socket s = new Socket("127.0.0.1", refused)) {
            s.setSoTimeout(10_000);
            client = s.getLocalPort();
            s.getOutputStream().write("hello\n".getBytes());
            awaitEnd(s);
        }
        String line = lineOf(client);
        assertTrue(line.contains("\"response_flags\":\"UF\""), line);
        assertTrue(line.contains("\"upstream_host\":\"127.0.0.1:" + refusedPort + "\""), line);
        assertTrue(line.contains("\"upstream_cluster\":\"" + cluster("refused") + "\""), line);
    }

    @Test
    void aClusterWithoutEndpointsGivesTheUhFlag() throws Exception {
        int client;
        try (Socket s = new Socket("127.0.0.1", empty)) {
            s.setSoTimeout(10_000);
            client = s.getLocalPort();
            awaitEnd(s);
        }
        String line = lineOf(client);
        assertTrue(line.contains("\"response_flags\":\"UH\""), line);
        assertTrue(line.contains("\"upstream_host\":null"), line);
        assertTrue(line.contains("\"upstream_cluster\":\"" + cluster("empty") + "\""), line);
    }

    @Test
    void aConnectionOverTheClustersMaxConnectionsIsClosedWithTheUoFlag() throws Exception {
        int second;
        try (Socket first = TcpProxyFixtures.open(capped, "capped-1");
                Socket over = new Socket("127.0.0.1", capped)) {
            over.setSoTimeout(10_000);
            second = over.getLocalPort();
            awaitEnd(over);
            assertEquals("still\n", roundTrip(first, "still\n"), "the first connection is untouched");
        }
        String line = lineOf(second);
        assertTrue(line.contains("\"response_flags\":\"UO\""), line);
        assertTrue(line.contains("\"upstream_host\":null"), line);
        // Its slot is free again once it ends.
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> backendClosed.get("capped-1").isDone());
        try (Socket again = TcpProxyFixtures.open(capped, "capped-2")) {
            assertEquals("ok\n", roundTrip(again, "ok\n"));
        }
    }

    @Test
    void theFilterDecidesPerConnectionAndATcpProxyWithoutAnAccessLogWritesNone() throws Exception {
        int other;
        try (Socket s = TcpProxyFixtures.open(filtered, "filtered-out")) {
            other = s.getLocalPort();
        }
        int quiet;
        try (Socket s = TcpProxyFixtures.open(silent, "silent-1")) {
            quiet = s.getLocalPort();
        }
        backendClosed.get("filtered-out").get(10, TimeUnit.SECONDS);
        backendClosed.get("silent-1").get(10, TimeUnit.SECONDS);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), filtered, InetAddress.getLoopbackAddress(),
                chosenClientPort)) {
            s.setSoTimeout(10_000);
            assertEquals("chosen\n", roundTrip(s, "chosen\n"));
        }
        assertTrue(lineOf(chosenClientPort).contains("\"bytes_sent\":7,"));
        assertFalse(loggedFrom(other), "filtered out");
        assertFalse(loggedFrom(quiet), "no access log on its tcp_proxy");
    }
}
