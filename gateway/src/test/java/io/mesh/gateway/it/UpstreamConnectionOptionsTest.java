package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.UpstreamConnectionOptions;
import io.envoyproxy.envoy.config.core.v3.TcpKeepalive;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.mesh.testing.FreePorts;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A cluster's {@code upstream_connection_options.tcp_keepalive} and {@code max_connection_duration}, in the form pilot
 * sends a DestinationRule's {@code tcpKeepalive} and {@code maxConnectionDuration}, on real sockets: the kernel's own
 * view ({@code ss -tnoi}) shows a keepalive timer of the cluster's {@code keepalive_time} on the upstream connections of
 * the fast path, of the Vert.x path and of a tcp_proxy relay; and a backend counting its connections sees an upstream
 * connection replaced once it is older than the duration, with no request failing, on both HTTP paths, and one
 * connection kept without it.
 */
class UpstreamConnectionOptionsTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    /** keepalive_time: well under the kernel's default of 2 hours, so the timer ss shows can only be the cluster's. */
    static final int KEEPALIVE_SECONDS = 45;
    static final long MAX_DURATION_MS = 300;

    static TestGateway fast;
    static TestGateway vertxPath;
    static ControlPlane vertxPilot;
    static int fastPort;
    static int vertxPort;
    static int tcpPort;
    static Backend fastKeepalive;
    static Backend vertxKeepalive;
    static Backend fastAged;
    static Backend vertxAged;
    static Backend fastYoung;
    static Backend vertxYoung;
    static Backend tcpBackend;

    @BeforeAll
    static void start() throws Exception {
        fastKeepalive = MESH.backend("fast-keepalive");
        vertxKeepalive = MESH.backend("vertx-keepalive");
        fastAged = MESH.backend("fast-aged");
        vertxAged = MESH.backend("vertx-aged");
        fastYoung = MESH.backend("fast-young");
        vertxYoung = MESH.backend("vertx-young");
        tcpBackend = MESH.backend("tcp");
        fastPort = FreePorts.next();
        vertxPort = FreePorts.next();
        tcpPort = FreePorts.next();
        MESH.pilot().set(clusters(), endpoints(fastKeepalive, fastAged, fastYoung), listeners(fastPort), routes(), List.of());
        vertxPilot = MESH.closing(new ControlPlane());
        vertxPilot.set(clusters(), endpoints(vertxKeepalive, vertxAged, vertxYoung), listeners(vertxPort), routes(),
                List.of());
        fast = MESH.startGateway(Map.of());
        vertxPath = MESH.closing(TestGateway.ready(vertxPilot, Map.of("mesh.gateway.listeners.fast-path", "false")));
    }

    @AfterAll
    static void stop() {
        // RouterFixture closes the gateways, pilots and backends.
    }

    static List<Cluster> clusters() {
        Cluster keepalive = Xds.edsCluster("keepalive").toBuilder().setUpstreamConnectionOptions(
                UpstreamConnectionOptions.newBuilder().setTcpKeepalive(TcpKeepalive.newBuilder()
                        .setKeepaliveProbes(UInt32Value.of(3)).setKeepaliveTime(UInt32Value.of(KEEPALIVE_SECONDS))
                        .setKeepaliveInterval(UInt32Value.of(7)))).build();
        Cluster aged = Xds.edsCluster("aged").toBuilder().putTypedExtensionProtocolOptions(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", Any.pack(HttpProtocolOptions.newBuilder()
                        .setCommonHttpProtocolOptions(io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.newBuilder()
                                .setMaxConnectionDuration(Durations.fromMillis(MAX_DURATION_MS))).build())).build();
        return List.of(keepalive, aged, Xds.edsCluster("young"), keepalive.toBuilder().setName("keepalive-tcp").build());
    }

    static List<io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints(Backend keepalive, Backend aged,
            Backend young) {
        return List.of(Xds.endpoints("keepalive", keepalive.port), Xds.endpoints("aged", aged.port),
                Xds.endpoints("young", young.port), Xds.endpoints("keepalive-tcp", tcpBackend.port));
    }

    static List<Listener> listeners(int httpPort) {
        TcpProxy tcp = TcpProxy.newBuilder().setStatPrefix("keepalive-tcp").setCluster("keepalive-tcp").build();
        Listener relay = Listener.newBuilder().setName("0.0.0.0_" + tcpPort).setAddress(Xds.address("127.0.0.1", tcpPort))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(tcp)))).build();
        // One TCP relay listener, on the fast-path gateway only (a port binds once).
        return httpPort == fastPort ? List.of(Xds.httpListener("http", httpPort, "http.80"), relay)
                : List.of(Xds.httpListener("http", httpPort, "http.80"));
    }

    static List<io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes() {
        return List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/keepalive", "keepalive"),
                Xds.prefixTo("/aged", "aged"), Xds.prefixTo("/young", "young"))));
    }

    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    static HttpResponse<String> get(int port, String path) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The keepalive timers (seconds left) the kernel shows on established connections to {@code port}. */
    static List<Integer> keepaliveTimers(int port) throws Exception {
        Process p = new ProcessBuilder("ss", "-tnoi", "state", "established", "dst", "127.0.0.1:" + port)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        // ss prints e.g. timer:(keepalive,44sec,0), timer:(keepalive,1min14sec,0), timer:(keepalive,119min,0), 560ms.
        Matcher m = Pattern.compile("timer:\\(keepalive,(?:(\\d+)min)?(?:(\\d+)(?:\\.\\d+)?sec)?(?:(\\d+)ms)?,")
                .matcher(out);
        List<Integer> timers = new java.util.ArrayList<>();
        while (m.find()) {
            int min = m.group(1) == null ? 0 : Integer.parseInt(m.group(1));
            int sec = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
            timers.add(min * 60 + sec);
        }
        return timers;
    }

    static void assertKeepalive(int backendPort, String what) throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            List<Integer> timers = keepaliveTimers(backendPort);
            assertTrue(!timers.isEmpty(), what + ": no upstream connection with a keepalive timer");
            for (int t : timers) {
                assertTrue(t <= KEEPALIVE_SECONDS, what + ": keepalive timer " + t + "s, not the cluster's "
                        + KEEPALIVE_SECONDS + "s");
            }
        });
    }

    @Test
    void theFastPathsUpstreamConnectionsHaveTheClustersKeepalive() throws Exception {
        long before = fast.gateway.dataPlane().fastPathRequests();
        assertEquals(200, get(fastPort, "/keepalive").statusCode());
        assertTrue(fast.gateway.dataPlane().fastPathRequests() > before, "the request took the fast path");
        assertKeepalive(fastKeepalive.port, "fast path");
    }

    @Test
    void theVertxClientsUpstreamConnectionsHaveTheClustersKeepalive() throws Exception {
        assertEquals(200, get(vertxPort, "/keepalive").statusCode());
        assertEquals(0, vertxPath.gateway.dataPlane().fastPathRequests(), "the Vert.x path");
        assertKeepalive(vertxKeepalive.port, "Vert.x client");
    }

    @Test
    void aTcpRelaysUpstreamConnectionHasTheClustersKeepalive() throws Exception {
        try (Socket s = new Socket("127.0.0.1", tcpPort)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /tcp HTTP/1.1\r\nHost: tcp\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            assertTrue(new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200"));
            assertKeepalive(tcpBackend.port, "tcp_proxy");
        }
    }

    @Test
    void aClusterWithoutKeepaliveLeavesItOff() throws Exception {
        assertEquals(200, get(fastPort, "/young").statusCode());
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> fastYoung.connections.get() > 0);
        assertEquals(List.of(), keepaliveTimers(fastYoung.port));
    }

    /** Requests every 100 ms for 1.5 s; none may fail. */
    static void paced(int port, String path) throws Exception {
        for (int i = 0; i < 15; i++) {
            assertEquals(200, get(port, path).statusCode(), path + " request " + i);
            Thread.sleep(100);   // pacing the requests, not waiting for anything
        }
    }

    @Test
    void theFastPathReplacesAConnectionOlderThanTheMaxConnectionDuration() throws Exception {
        long before = fast.gateway.dataPlane().fastPathRequests();
        int opened = fastAged.connections.get();
        paced(fastPort, "/aged");
        assertTrue(fast.gateway.dataPlane().fastPathRequests() - before >= 15, "the requests took the fast path");
        int made = fastAged.connections.get() - opened;
        assertTrue(made > 1, "one upstream connection for 1.5 s: " + made);
        assertTrue(made < 15, "not one connection per request: " + made);
    }

    @Test
    void theVertxPathReplacesAConnectionOlderThanTheMaxConnectionDuration() throws Exception {
        int opened = vertxAged.connections.get();
        paced(vertxPort, "/aged");
        int made = vertxAged.connections.get() - opened;
        assertTrue(made > 1, "one upstream connection for 1.5 s: " + made);
        assertTrue(made < 15, "not one connection per request: " + made);
    }

    /** At most one new connection: the one the first request may open (none if the pool already had one). */
    @Test
    void withoutAMaxConnectionDurationOneConnectionServesThemAll() throws Exception {
        int fastOpened = fastYoung.connections.get();
        int vertxOpened = vertxYoung.connections.get();
        paced(fastPort, "/young");
        paced(vertxPort, "/young");
        assertTrue(fastYoung.connections.get() - fastOpened <= 1, "fast path: " + (fastYoung.connections.get() - fastOpened));
        assertTrue(vertxYoung.connections.get() - vertxOpened <= 1, "Vert.x path: "
                + (vertxYoung.connections.get() - vertxOpened));
        assertTrue(fastYoung.connections.get() >= 1 && vertxYoung.connections.get() >= 1);
    }
}
