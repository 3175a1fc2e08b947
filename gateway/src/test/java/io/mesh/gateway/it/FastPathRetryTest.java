package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.mesh.testing.FreePorts;
import io.micrometer.core.instrument.Counter;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Retries on the fast path, with the policy pilot gives every route that has no retries of its own (Istio's default:
 * 2 retries on connect-failure, refused-stream, unavailable, cancelled and status 503) and a "5xx" one: a bodiless
 * request read as bytes is retried there, on another endpoint, with {@code x-envoy-attempt-count}, and so is one whose
 * body the retry buffer holds (read whole first); a larger body goes the Vert.x path, streamed. Each test checks which
 * path took the requests.
 */
class FastPathRetryTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Backend web;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    /** The gateway's retry buffer: bodies up to this size are kept for retries. */
    static final int RETRY_BUFFER = 4096;

    /** Istio's default retry policy, as pilot writes it into every route without a VirtualService retries block. */
    static final RetryPolicy ISTIO_DEFAULT = RetryPolicy.newBuilder()
            .setRetryOn("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes")
            .addRetriableStatusCodes(503).setNumRetries(UInt32Value.of(2)).build();

    @BeforeAll
    static void start() throws Exception {
        web = MESH.backend("web");
        int dead = FreePorts.next();
        pilot = MESH.pilot();
        port = FreePorts.next();
        // "capped": one retry at a time (its max-retries breaker), to an endpoint where nothing listens.
        Cluster capped = Xds.edsCluster("capped").toBuilder().setCircuitBreakers(CircuitBreakers.newBuilder()
                .addThresholds(CircuitBreakers.Thresholds.newBuilder().setMaxRetries(UInt32Value.of(1)))).build();
        pilot.set(List.of(Xds.edsCluster("web"), Xds.edsCluster("pair"), Xds.edsCluster("dead"), capped),
                List.of(Xds.endpoints("web", web.port), Xds.endpoints("pair", dead, web.port), Xds.endpoints("dead", dead),
                        Xds.endpoints("capped", dead)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"),
                        retrying("/5xx/fail", "web", "/fail", RetryPolicy.newBuilder().setRetryOn("5xx")
                                .setNumRetries(UInt32Value.of(2)).build()),
                        retrying("/pair", "pair", "/", ISTIO_DEFAULT), retrying("/dead", "dead", "/", ISTIO_DEFAULT),
                        // Backoff under 10 s doubling: a request's retries hold the breaker's slot for seconds.
                        retrying("/capped", "capped", "/", ISTIO_DEFAULT.toBuilder().setRetryBackOff(RetryPolicy.RetryBackOff
                                .newBuilder().setBaseInterval(com.google.protobuf.Duration.newBuilder().setSeconds(10))).build()),
                        retrying("/", "web", "/", ISTIO_DEFAULT)))),
                List.of());
        gw = MESH.startGateway(Map.of("mesh.gateway.limits.retry-buffer-bytes", Integer.toString(RETRY_BUFFER)));
    }

    static Route retrying(String prefix, String cluster, String rewrite, RetryPolicy policy) {
        return Route.newBuilder().setName(prefix).setMatch(RouteMatch.newBuilder().setPrefix(prefix))
                .setRoute(RouteAction.newBuilder().setCluster(cluster).setPrefixRewrite(rewrite).setRetryPolicy(policy))
                .build();
    }

    static long fast() {
        return gw.gateway.dataPlane().fastPathRequests();
    }

    static double flagged(String flags) {
        return gw.registry.find("istio_requests").tag("response_flags", flags).counters().stream()
                .mapToDouble(Counter::count).sum();
    }

    static FastPathTest.Resp get(Socket s, String path) throws Exception {
        FastPathTest.send(s, "GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n");
        return FastPathTest.read(s);
    }

    static Socket socket() throws Exception {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(20_000);
        return s;
    }

    @Test
    void a503FromABackendThatFailsEveryOtherRequestIsRetriedOnTheFastPath() throws Exception {
        long before = fast();
        try (Socket s = socket()) {
            for (int i = 0; i < 20; i++) {
                FastPathTest.Resp r = get(s, "/flaky");
                assertEquals(200, r.status(), "request " + i + ": " + r.body());
                assertEquals("web", r.body());
            }
        }
        assertEquals(before + 20, fast(), "the fast path took every request, retries included");
    }

    @Test
    void aConnectFailureIsRetriedOnAnotherEndpointWithTheAttemptCount() throws Exception {
        long before = fast();
        int retried = 0;
        try (Socket s = socket()) {
            for (int i = 0; i < 20; i++) {
                FastPathTest.Resp r = get(s, "/pair/headers");
                assertEquals(200, r.status(), "request " + i + ": " + r.body());
                if (r.body().contains("x-envoy-attempt-count: 2\n")) {
                    retried++;
                }
            }
        }
        assertEquals(before + 20, fast());
        // Round robin sends every other first try to the endpoint where nothing listens; its retry goes to the other.
        assertTrue(retried >= 5, "retried requests reached the live endpoint as attempt 2: " + retried);
    }

    @Test
    void retriedConnectFailuresLeaveNoBufferUnreleased() throws Exception {
        // Every buffer tracked (paranoid), and each one collected unreleased reported to the test.
        List<String> leaks = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.lang.reflect.Field f = io.netty.buffer.AbstractByteBuf.class.getDeclaredField("leakDetector");
        f.setAccessible(true);
        io.netty.util.ResourceLeakDetector<?> detector = (io.netty.util.ResourceLeakDetector<?>) f.get(null);
        io.netty.util.ResourceLeakDetector.Level level = io.netty.util.ResourceLeakDetector.getLevel();
        io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.PARANOID);
        detector.setLeakListener((type, records) -> leaks.add(type + records));
        try (Socket s = socket()) {
            // Round robin: every other first try goes where nothing listens, and its retry to the live endpoint.
            for (int i = 0; i < 100; i++) {
                assertEquals(200, get(s, "/pair/headers").status());
            }
            // A collected buffer is reported when a later tracked allocation finds it in the reference queue.
            for (int round = 0; round < 3; round++) {
                System.gc();
                for (int i = 0; i < 20; i++) {
                    assertEquals(200, get(s, "/pair/headers").status());
                }
            }
        } finally {
            detector.setLeakListener(null);
            io.netty.util.ResourceLeakDetector.setLevel(level);
        }
        assertEquals(List.of(), leaks, "buffers collected without release");
    }

    @Test
    void whenEveryTryFailsTheLastFailureIsAnsweredWithUrx() throws Exception {
        double uf = flagged("UF,URX");
        double x5 = flagged("URX");
        long before = fast();
        try (Socket s = socket()) {
            FastPathTest.Resp dead = get(s, "/dead");
            assertEquals(503, dead.status());
            assertTrue(dead.body().contains("connection failure"), dead.body());
            FastPathTest.Resp fail = get(s, "/5xx/fail");
            assertEquals(500, fail.status());
            assertEquals("fail web", fail.body());
        }
        assertEquals(before + 2, fast());
        await().atMost(Duration.ofSeconds(5)).until(() -> flagged("UF,URX") == uf + 1 && flagged("URX") == x5 + 1);
    }

    @Test
    void aBodyWithinTheRetryBufferIsKeptAndRetriedOnTheFastPath() throws Exception {
        long before = fast();
        try (Socket s = socket()) {
            for (int i = 0; i < 4; i++) {
                String body = "hello " + i + " " + "x".repeat(2000);
                FastPathTest.send(s, "POST /flaky-echo HTTP/1.1\r\nHost: a\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
                FastPathTest.Resp r = FastPathTest.read(s);
                assertEquals(200, r.status(), "request " + i + ": " + r.body());
                assertEquals(body, r.body(), "the retry carried the whole body");
            }
        }
        assertEquals(before + 4, fast());
    }

    @Test
    void aBodyLargerThanTheRetryBufferTakesTheVertxPathAndStreams() throws Exception {
        long before = fast();
        try (Socket s = socket()) {
            String body = "y".repeat(RETRY_BUFFER + 1);
            FastPathTest.send(s, "POST /count HTTP/1.1\r\nHost: a\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            FastPathTest.Resp r = FastPathTest.read(s);
            assertEquals(200, r.status(), r.body());
            assertEquals(Integer.toString(RETRY_BUFFER + 1), r.body());
        }
        assertEquals(before, fast());
    }

    @Test
    void theRetryBreakerRefusesARetryWhileTheClusterHasItsMaxRetriesInFlightOnBothPaths() throws Exception {
        double uo = flagged("UF,UO");
        long before = fast();
        try (Socket holder = socket()) {
            // Its first try fails to connect and its retry waits out the backoff: it holds the cluster's one retry.
            FastPathTest.send(holder, "GET /capped HTTP/1.1\r\nHost: a\r\n\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> activeRetries("capped") == 1);
            try (Socket s = socket()) {
                FastPathTest.Resp r = get(s, "/capped");
                assertEquals(503, r.status(), r.body());
                assertTrue(r.body().contains("connection failure"), r.body());
            }
            assertEquals(before + 2, fast(), "both GETs took the fast path");
            try (Socket s = socket()) {   // HTTP/1.0: the Vert.x path
                FastPathTest.send(s, "GET /capped HTTP/1.0\r\nHost: a\r\n\r\n");
                assertEquals(503, FastPathTest.read(s).status());
            }
            assertEquals(before + 2, fast());
            assertEquals(1, activeRetries("capped"), "a refused retry takes no slot");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> flagged("UF,UO") == uo + 2);
        // The holder's connection closed: its exchange ended and gave the slot back.
        await().atMost(Duration.ofSeconds(5)).until(() -> activeRetries("capped") == 0);
    }

    static int activeRetries(String cluster) {
        return gw.gateway.dataPlane().active().upstreams().get(cluster).activeRetries();
    }
}
