package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.mesh.testing.FreePorts;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Netty fast path (on by default) through its real interface: raw sockets and curl against a running gateway,
 * a Vert.x origin, an origin that breaks mid-response, and a port where nothing listens. Each test checks the
 * requests really took the fast path (or really did not, for the fallbacks) with {@code fastPathRequests()}.
 */
class FastPathTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Vertx vertx;
    static Backend web;
    /** A second origin, for the consistent-hash cluster "ring" (web and web2). */
    static Backend web2;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static ServerSocket broken;
    /** An origin that answers each request (keep-alive) with the bytes {@link #SCRIPT} has for its path. */
    static ServerSocket scripted;
    static final java.util.concurrent.atomic.AtomicInteger scriptedConnections = new java.util.concurrent.atomic.AtomicInteger();
    /** Path -> the response's parts, written with a pause between them; a path ending in "!close" closes after. */
    static final Map<String, List<String>> SCRIPT = new java.util.concurrent.ConcurrentHashMap<>();
    /** What the broken origin does with its next request: "cut" (headers, some body, close) or "close" (nothing). */
    static volatile String brokenMode = "cut";

    @BeforeAll
    static void start() throws Exception {
        vertx = MESH.vertx();
        web = MESH.backend("web");
        web2 = MESH.backend("web2");
        broken = MESH.closing(new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()));
        Thread t = new Thread(FastPathTest::serveBroken, "broken-origin");
        t.setDaemon(true);
        t.start();
        scripted = MESH.closing(new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()));
        Thread st = new Thread(FastPathTest::serveScripted, "scripted-origin");
        st.setDaemon(true);
        st.start();
        int dead = FreePorts.next();
        pilot = MESH.pilot();
        port = FreePorts.next();
        Route timeout = Route.newBuilder().setName("slow").setMatch(RouteMatch.newBuilder().setPrefix("/slow"))
                .setRoute(RouteAction.newBuilder().setCluster("web").setTimeout(Durations.fromMillis(1000))).build();
        Route redirect = Route.newBuilder().setName("redirect").setMatch(RouteMatch.newBuilder().setPrefix("/redirect"))
                .setRedirect(RedirectAction.newBuilder().setPathRedirect("/elsewhere")).build();
        Route byUser = Route.newBuilder().setName("by-user").setMatch(RouteMatch.newBuilder().setPrefix("/ring/user"))
                .setRoute(RouteAction.newBuilder().setCluster("ring").addHashPolicy(RouteAction.HashPolicy.newBuilder()
                        .setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName("x-user")))).build();
        Route byIp = Route.newBuilder().setName("by-ip").setMatch(RouteMatch.newBuilder().setPrefix("/ring/ip"))
                .setRoute(RouteAction.newBuilder().setCluster("ring").addHashPolicy(RouteAction.HashPolicy.newBuilder()
                        .setConnectionProperties(RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true)))).build();
        Route byQuery = Route.newBuilder().setName("by-query").setMatch(RouteMatch.newBuilder().setPrefix("/ring/query"))
                .setRoute(RouteAction.newBuilder().setCluster("ring").addHashPolicy(RouteAction.HashPolicy.newBuilder()
                        .setQueryParameter(RouteAction.HashPolicy.QueryParameter.newBuilder().setName("user")))).build();
        // Istio's httpCookie {name: affinity, path: /, ttl: 60s}: the gateway makes the cookie when it is missing.
        Route byCookie = Route.newBuilder().setName("by-cookie").setMatch(RouteMatch.newBuilder().setPrefix("/ring/cookie"))
                .setRoute(RouteAction.newBuilder().setCluster("ring").addHashPolicy(RouteAction.HashPolicy.newBuilder()
                        .setCookie(RouteAction.HashPolicy.Cookie.newBuilder().setName("affinity").setPath("/")
                                .setTtl(com.google.protobuf.Duration.newBuilder().setSeconds(60))))).build();
        var ring = Xds.edsCluster("ring").toBuilder().setLbPolicy(io.envoyproxy.envoy.config.cluster.v3.Cluster.LbPolicy.RING_HASH).build();
        pilot.set(List.of(Xds.edsCluster("web"), Xds.edsCluster("broken"), Xds.edsCluster("dead"), Xds.edsCluster("scripted"), ring),
                List.of(Xds.endpoints("web", web.port), Xds.endpoints("broken", broken.getLocalPort()), Xds.endpoints("dead", dead),
                        Xds.endpoints("scripted", scripted.getLocalPort()), Xds.endpoints("ring", web.port, web2.port)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), timeout, redirect, byUser, byIp, byQuery, byCookie,
                        Xds.prefixTo("/broken", "broken"), Xds.prefixTo("/dead", "dead"), Xds.prefixTo("/scripted", "scripted"),
                        Xds.prefixTo("/", "web")))), List.of());
        gw = MESH.startGateway(Map.of("mesh.gateway.limits.request-header-timeout", "5s"));
    }

    /** An origin that answers every request badly, as {@link #brokenMode} says, then closes. */
    private static void serveBroken() {
        while (!broken.isClosed()) {
            try (Socket s = broken.accept()) {
                readHead(s.getInputStream());
                if (brokenMode.equals("cut")) {
                    OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(100); // the origin holds the cut response open a moment before it drops the connection
                }
            } catch (Exception e) {
                // next connection
            }
        }
    }

    private static void serveScripted() {
        while (!scripted.isClosed()) {
            try {
                Socket s = scripted.accept();
                scriptedConnections.incrementAndGet();
                Thread t = new Thread(() -> {
                    try (s) {
                        while (true) {
                            String head = readHead(s.getInputStream());
                            String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
                            List<String> parts = SCRIPT.get(path);
                            OutputStream out = s.getOutputStream();
                            for (int i = 0; i < parts.size(); i++) {
                                if (i > 0) {
                                    Thread.sleep(100);
                                }
                                out.write(parts.get(i).getBytes(StandardCharsets.ISO_8859_1));
                                out.flush();
                            }
                            if (path.endsWith("!close")) {
                                return;
                            }
                        }
                    } catch (Exception e) {
                        // the gateway closed the connection
                    }
                }, "scripted-connection");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                // closed
            }
        }
    }

    /** The head lines (status line first) and the Content-Length body of one response. */
    static List<String> rawResponse(Socket s, StringBuilder body) throws IOException {
        List<String> lines = List.of(readHead(s.getInputStream()).split("\r\n"));
        for (String l : lines) {
            if (l.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                body.append(new String(s.getInputStream().readNBytes(Integer.parseInt(l.substring(15).trim())),
                        StandardCharsets.ISO_8859_1));
            }
        }
        return lines;
    }

    /**
     * A plain response is relayed as bytes: hop-by-hop headers (and Connection) are left out, the rest keeps its
     * order and case, each line as "name: value", and the upstream connection is reused.
     */
    @Test
    void aPlainResponseIsRelayedWithoutHopByHopHeadersInOrder() throws Exception {
        SCRIPT.put("/scripted/plain", List.of("HTTP/1.1 200 OK\r\nX-First: 1\r\nKeep-Alive: timeout=5\r\nconnection: keep-alive\r\n"
                + "X-Tight:v\r\nProxy-Authenticate: Basic\r\nContent-Length: 5\r\nX-Last:  padded \t\r\nX-Empty: \r\n"
                + "X-Tab:\tv\r\nX-End: e\r\n\r\nhello"));
        long before = fast();
        try (Socket s = socket()) {
            send(s, "GET /scripted/plain HTTP/1.1\r\nHost: a\r\n\r\n");
            StringBuilder body = new StringBuilder();
            assertEquals(List.of("HTTP/1.1 200 OK", "X-First: 1", "X-Tight: v", "Content-Length: 5", "X-Last: padded", "X-Empty: ",
                    "X-Tab: v", "X-End: e"), rawResponse(s, body));
            assertEquals("hello", body.toString());
            int connections = scriptedConnections.get();
            send(s, "GET /scripted/plain HTTP/1.1\r\nHost: a\r\n\r\n");
            body.setLength(0);
            assertEquals(8, rawResponse(s, body).size());
            assertEquals("hello", body.toString());
            assertEquals(connections, scriptedConnections.get(), "the upstream connection was reused");
        }
        assertEquals(before + 2, fast());
    }

    /** A head and a body that arrive in several reads are put together; a zero-length body ends at the head. */
    @Test
    void aResponseSplitAcrossReadsAndAnEmptyOneAreRelayed() throws Exception {
        SCRIPT.put("/scripted/split", List.of("HTTP/1.1 201 Created\r\nContent-Le", "ngth: 10\r\nX-A: b\r\n\r\n01234", "56789"));
        SCRIPT.put("/scripted/empty", List.of("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
        try (Socket s = socket()) {
            send(s, "GET /scripted/split HTTP/1.1\r\nHost: a\r\n\r\n");
            StringBuilder body = new StringBuilder();
            assertEquals(List.of("HTTP/1.1 201 Created", "Content-Length: 10", "X-A: b"), rawResponse(s, body));
            assertEquals("0123456789", body.toString());
            for (int i = 0; i < 2; i++) {
                send(s, "GET /scripted/empty HTTP/1.1\r\nHost: a\r\n\r\n");
                body.setLength(0);
                assertEquals(List.of("HTTP/1.1 200 OK", "Content-Length: 0"), rawResponse(s, body));
                assertEquals("", body.toString());
            }
        }
    }

    /**
     * An upstream that says Connection: close, or sends bytes past its response, is not reused; the downstream
     * connection goes on, and Connection: close from the client is relayed on the raw head.
     */
    @Test
    void upstreamsThatCloseOrOverrunAreNotReused() throws Exception {
        SCRIPT.put("/scripted/bye!close", List.of("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"));
        SCRIPT.put("/scripted/overrun", List.of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE"));
        try (Socket s = socket()) {
            for (String path : List.of("/scripted/bye!close", "/scripted/overrun")) {
                for (int i = 0; i < 2; i++) {
                    int connections = scriptedConnections.get();
                    send(s, "GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n");
                    StringBuilder body = new StringBuilder();
                    assertEquals(List.of("HTTP/1.1 200 OK", "Content-Length: 2"), rawResponse(s, body), path);
                    assertEquals("ok", body.toString());
                    assertEquals(connections + 1, scriptedConnections.get(), path + ": a new upstream connection each time");
                }
            }
            send(s, "GET /scripted/overrun HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            StringBuilder body = new StringBuilder();
            assertEquals(List.of("HTTP/1.1 200 OK", "Content-Length: 2", "connection: close"), rawResponse(s, body));
            assertEquals("ok", body.toString());
            assertEquals(-1, s.getInputStream().read(), "the downstream connection closes after it");
        }
    }

    /**
     * What the byte relay does not take goes through the decoder as before: a Connection header naming another
     * header, a chunked body, an HTTP/1.0 response, and a control character in a value (refused: 503).
     */
    @Test
    void responsesTheRelayDoesNotTakeAreDecoded() throws Exception {
        SCRIPT.put("/scripted/named", List.of("HTTP/1.1 200 OK\r\nConnection: x-secret\r\nx-secret: 1\r\nx-open: 2\r\n"
                + "Content-Length: 2\r\n\r\nok"));
        SCRIPT.put("/scripted/chunked", List.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", "0\r\n\r\n"));
        SCRIPT.put("/scripted/old", List.of("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        SCRIPT.put("/scripted/ctl", List.of("HTTP/1.1 200 OK\r\nx-bad: a\u0001b\r\nContent-Length: 2\r\n\r\nok"));
        try (Socket s = socket()) {
            send(s, "GET /scripted/named HTTP/1.1\r\nHost: a\r\n\r\n");
            Resp r = read(s);
            assertEquals("ok", r.body);
            assertNull(r.headers.get("x-secret"));
            assertEquals("2", r.headers.get("x-open"));
            send(s, "GET /scripted/chunked HTTP/1.1\r\nHost: a\r\n\r\n");
            r = read(s);
            assertEquals("ok", r.body);
            assertEquals("chunked", r.headers.get("transfer-encoding"));
            send(s, "GET /scripted/old HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals("ok", read(s).body);
            send(s, "GET /scripted/ctl HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals(503, read(s).status);
        }
    }

    static long fast() {
        return gw.gateway.dataPlane().fastPathRequests();
    }

    static double flagged(String flag) {
        return gw.registry.find("istio_requests").tag("response_flags", flag).counters().stream().mapToDouble(Counter::count).sum();
    }

    @Test
    void keepAliveRequestsReuseOneDownstreamAndOneUpstreamConnection() throws Exception {
        long before = fast();
        try (Socket s = socket()) {
            // Warm the upstream pool of this connection's event loop, then count the origin's new connections.
            send(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals(200, read(s).status);
            int connections = web.connections.get();
            for (int i = 0; i < 20; i++) {
                send(s, "GET /n" + i + " HTTP/1.1\r\nHost: a\r\n\r\n");
                Resp r = read(s);
                assertEquals(200, r.status);
                assertEquals("web", r.body);
            }
            assertEquals(connections, web.connections.get(), "upstream connections were reused");
        }
        assertEquals(before + 21, fast());
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderAcrossBothPaths() throws Exception {
        long before = fast();
        try (Socket s = socket()) {
            // The redirect is answered by the Vert.x path; the others by the fast path, in between.
            send(s, "GET /slow?ms=300 HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /redirect HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "POST /count HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                    + "GET /redirect HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "POST /count HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
                    + "GET /last HTTP/1.1\r\nHost: a\r\n\r\n");
            Resp r1 = read(s);
            assertEquals(200, r1.status);
            assertEquals("web", r1.body);
            Resp r2 = read(s);
            assertEquals(301, r2.status);
            assertTrue(r2.headers.get("location").endsWith("/elsewhere"), r2.headers.toString());
            assertEquals("5", read(s).body);
            assertEquals(301, read(s).status);
            assertEquals("7", read(s).body);
            assertEquals("web", read(s).body);
        }
        assertEquals(before + 4, fast());
    }

    @Test
    void chunkedUploadAndChunkedDownloadStream() throws Exception {
        long before = fast();
        String url = "http://127.0.0.1:" + port;
        String data = "y".repeat(300_000);
        // curl sends stdin chunked (no length known); "Expect:" drops the 100-continue it would ask for (a Vert.x-path case).
        assertEquals("300000", Run.run(List.of("curl", "-s", "-m", "20", "-H", "Expect:", "-T", "-", "-X", "POST", url + "/count"), data));
        try (Socket s = socket()) {
            send(s, "GET /stream?kb=100 HTTP/1.1\r\nHost: a\r\n\r\n");
            Resp r = read(s);
            assertEquals("chunked", r.headers.get("transfer-encoding"));
            assertEquals(100 * 1024, r.body.length());
        }
        assertEquals(before + 2, fast());
    }

    @Test
    void largeBodiesStreamBothWays() throws Exception {
        long before = fast();
        long size = 64L * 1024 * 1024;
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> up = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/count"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ProtocolsTest.Zeros(size))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(Long.toString(size), up.body());
        String down = Run.run(List.of("curl", "-s", "-m", "60", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                "http://127.0.0.1:" + port + "/stream?kb=" + (size / 1024)), null);
        assertEquals("200 " + size, down);
        assertEquals(before + 2, fast());
    }

    @Test
    void anUpstreamClosingMidResponseResetsTheDownstreamConnection() throws Exception {
        double ur = flagged("UR");
        brokenMode = "cut";
        try (Socket s = socket()) {
            send(s, "GET /broken HTTP/1.1\r\nHost: a\r\n\r\n");
            InputStream in = s.getInputStream();
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 200"), head);
            byte[] rest = in.readAllBytes();   // ends when the gateway closes the connection
            assertEquals("0123456789", new String(rest, StandardCharsets.US_ASCII));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> flagged("UR") > ur);
        // Closed before any response: 503 UR, and the downstream connection stays usable for the next request.
        brokenMode = "close";
        try (Socket s = socket()) {
            send(s, "GET /broken HTTP/1.1\r\nHost: a\r\n\r\n");
            Resp r = read(s);
            assertEquals(503, r.status);
            assertTrue(r.body.contains("remote reset"), r.body);
            send(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals(200, read(s).status);
        } finally {
            brokenMode = "cut";
        }
    }

    @Test
    void connectFailureIs503UfAndTimeoutIs504Ut() throws Exception {
        long before = fast();
        double uf = flagged("UF");
        double ut = flagged("UT");
        try (Socket s = socket()) {
            send(s, "GET /dead HTTP/1.1\r\nHost: a\r\n\r\n");
            Resp r = read(s);
            assertEquals(503, r.status);
            assertTrue(r.body.contains("connection failure"), r.body);
            send(s, "GET /slow?ms=3000 HTTP/1.1\r\nHost: a\r\n\r\n");
            Resp t = read(s);
            assertEquals(504, t.status);
            assertEquals("upstream request timeout\n", t.body);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> flagged("UF") > uf && flagged("UT") > ut);
        assertEquals(before + 2, fast());
    }

    @Test
    void headAnswersWithoutABodyAndTheConnectionGoesOn() throws Exception {
        try (Socket s = socket()) {
            send(s, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
            Resp h = read(s, true);
            assertEquals(200, h.status);
            assertEquals("", h.body);
            Resp g = read(s);
            assertEquals("web", g.body);
        }
    }

    @Test
    void connectionCloseIsAnsweredThenTheConnectionCloses() throws Exception {
        long before = fast();
        try (Socket s = socket()) {
            send(s, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            Resp r = read(s);
            assertEquals("web", r.body);
            assertEquals("close", r.headers.get("connection"));
            assertEquals(-1, s.getInputStream().read(), "the gateway closed the connection after the response");
        }
        assertEquals(before + 1, fast());
    }

    @Test
    void forwardingHeadersAndHopByHopHandlingMatchTheVertxPath() throws Exception {
        long before = fast();
        String incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        try (Socket s = socket()) {
            send(s, "GET /headers HTTP/1.1\r\nHost: shop.example:8080\r\nConnection: keep-alive, x-drop\r\nx-drop: 1\r\n"
                    + "Keep-Alive: timeout=5\r\nx-forwarded-for: 10.0.0.1\r\ntraceparent: " + incoming + "\r\nx-keep: 2\r\n\r\n");
            Map<String, String> echoed = echoed(read(s).body);
            assertNull(echoed.get("x-drop"));
            assertNull(echoed.get("keep-alive"));
            assertEquals("2", echoed.get("x-keep"));
            assertEquals("shop.example:8080", echoed.get("host"));
            assertEquals("10.0.0.1, 127.0.0.1", echoed.get("x-forwarded-for"));
            assertEquals("http", echoed.get("x-forwarded-proto"));
            assertEquals(36, echoed.get("x-request-id").length());
            String tp = echoed.get("traceparent");
            assertTrue(tp.startsWith("00-0af7651916cd43dd8448eb211c80319c-") && tp.endsWith("-01"), tp);
            assertNotEquals(incoming, tp);
        }
        assertEquals(before + 1, fast());
    }

    /**
     * The forwarding headers made from one pass over the head (no Connection-named header to strip): each is sent
     * once, an incoming value is replaced or extended, not duplicated, whatever the case of its name, and a head
     * on the same connection with another Host is routed by its own Host.
     */
    @Test
    void forwardingHeadersAreSetOnceEachWhateverTheirCase() throws Exception {
        long before = fast();
        String incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
        try (Socket s = socket()) {
            send(s, "GET /headers HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nX-Request-Id: given-id\r\n"
                    + "X-Forwarded-Proto: https\r\nUser-Agent: t/1\r\n\r\n");
            String body = read(s).body;
            assertEquals(List.of("given-id"), values(body, "x-request-id"));
            assertEquals(List.of("http"), values(body, "x-forwarded-proto"));
            assertEquals(List.of("127.0.0.1"), values(body, "x-forwarded-for"));
            assertEquals(List.of("a"), values(body, "host"));
            assertEquals(List.of(), values(body, "connection"));
            List<String> tp = values(body, "traceparent");
            assertEquals(1, tp.size(), body);
            assertTrue(tp.get(0).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]"), tp.get(0));

            send(s, "GET /headers HTTP/1.1\r\nHost: b.example:81\r\nTraceParent: " + incoming + "\r\n"
                    + "X-Forwarded-For: 10.1.1.1\r\n\r\n");
            body = read(s).body;
            assertEquals(List.of("b.example:81"), values(body, "host"));
            assertEquals(List.of("10.1.1.1, 127.0.0.1"), values(body, "x-forwarded-for"));
            assertEquals(1, values(body, "x-request-id").size(), body);
            assertEquals(36, values(body, "x-request-id").get(0).length());
            tp = values(body, "traceparent");
            assertEquals(1, tp.size(), body);
            assertTrue(tp.get(0).matches("00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00"), tp.get(0));
            assertNotEquals(incoming, tp.get(0));
        }
        assertEquals(before + 2, fast());
    }

    /** Each status code of a cluster has its own series, whatever order they come in (the meters are cached). */
    @Test
    void istioMetricsKeepEachCodeOfAClusterApart() throws Exception {
        double ok = count("web", "200");
        double unavailable = count("web", "503");
        try (Socket s = socket()) {
            for (int i = 0; i < 4; i++) {
                send(s, "GET /flaky HTTP/1.1\r\nHost: a\r\n\r\n");
                read(s);
            }
            send(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals(200, read(s).status);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> count("web", "200") >= ok + 3 && count("web", "503") >= unavailable + 2);
        assertEquals(ok + 3, count("web", "200"));
        assertEquals(unavailable + 2, count("web", "503"));
    }

    static double count(String service, String code) {
        return gw.registry.find("istio_requests").tag("response_code", code).tag("destination_service", service)
                .tag("response_flags", "-").counters().stream().mapToDouble(Counter::count).sum();
    }

    /** The values of header {@code name} in a {@code /headers} echo, in order. */
    private static List<String> values(String body, String name) {
        List<String> v = new java.util.ArrayList<>();
        for (String l : body.split("\n")) {
            if (l.startsWith(name + ": ")) {
                v.add(l.substring(name.length() + 2));
            }
        }
        return v;
    }

    @Test
    void upgradesAndH2cStillTakeTheVertxPath() throws Exception {
        long before = fast();
        CompletableFuture<String> echoed = new CompletableFuture<>();
        WebSocket ws = vertx.createWebSocketClient().connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
                .setURI("/ws")).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        ws.textMessageHandler(echoed::complete);
        ws.writeTextMessage("over the fast-path listener");
        assertEquals("over the fast-path listener", echoed.get(10, TimeUnit.SECONDS));
        CompletableFuture<Buffer> binary = new CompletableFuture<>();
        ws.binaryMessageHandler(binary::complete);
        ws.writeBinaryMessage(Buffer.buffer(new byte[70_000]));
        assertEquals(70_000, binary.get(10, TimeUnit.SECONDS).length());
        ws.close();
        String url = "http://127.0.0.1:" + port + "/";
        assertEquals("2 200", Run.run(List.of("curl", "-s", "-m", "10", "--http2-prior-knowledge", "-w", "%{http_version} %{http_code}",
                "-o", "/dev/null", url), null));
        assertEquals("2 200", Run.run(List.of("curl", "-s", "-m", "10", "--http2", "-w", "%{http_version} %{http_code}",
                "-o", "/dev/null", url), null));
        // Expect: 100-continue is left to Vert.x too, and answered.
        assertEquals("6 200", Run.run(List.of("curl", "-s", "-m", "10", "-H", "Expect: 100-continue", "--data-binary", "abcdef",
                "-w", " %{http_code}", url + "count"), null));
        assertEquals(before, fast());
    }

    @Test
    void hostileHeadsStillGetTheirCodesOnAFastPathConnection() throws Exception {
        try (Socket s = socket()) {
            send(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals(200, read(s).status);
            StringBuilder many = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
            for (int i = 0; i < 150; i++) {
                many.append("x-h").append(i).append(": v\r\n");
            }
            send(s, many.append("\r\n").toString());
            assertEquals(431, read(s).status);
        }
        try (Socket s = socket()) {
            send(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals(200, read(s).status);
            send(s, "GET / HTTP/1.1\r\nHost: a\r\nx-big: " + "x".repeat(100 * 1024) + "\r\n\r\n");
            assertEquals(431, read(s).status);
        }
        try (Socket s = socket()) {
            send(s, "GET /" + "u".repeat(10_000) + " HTTP/1.1\r\nHost: a\r\n\r\n");
            int status = read(s).status;
            assertTrue(status == 414 || status == 400, "status " + status);
        }
    }

    @Test
    void istioMetricsCountFastPathRequests() throws Exception {
        double ok = gw.registry.find("istio_requests").tag("response_code", "200").tag("destination_service", "web")
                .counters().stream().mapToDouble(Counter::count).sum();
        long before = fast();
        try (Socket s = socket()) {
            for (int i = 0; i < 5; i++) {
                send(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                assertEquals(200, read(s).status);
            }
        }
        assertEquals(before + 5, fast());
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.registry.find("istio_requests").tag("response_code", "200")
                .tag("destination_service", "web").counters().stream().mapToDouble(Counter::count).sum() >= ok + 5);
    }

    /**
     * The idle timeout closes idle connections only: a keep-alive connection busy with fast-path requests for longer
     * than the timeout stays open (Vert.x's idle handler never sees fast-path traffic; the fast path keeps the time),
     * then, once quiet, it is closed.
     */
    @Test
    void theIdleTimeoutClosesQuietConnectionsNotBusyOnes() throws Exception {
        int p = FreePorts.next();
        ControlPlane cp = new ControlPlane();
        cp.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)), List.of(Xds.httpListener("http", p, "r")),
                List.of(Xds.routes("r", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
        try (TestGateway idle = TestGateway.withXds(cp, Map.of("mesh.gateway.limits.idle-timeout", "2s"))) {
            await().atMost(Duration.ofSeconds(20)).until(idle::ready);
            try (Socket s = new Socket("127.0.0.1", p)) {
                s.setSoTimeout(10_000);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                int n = 0;
                while (System.nanoTime() < end) {
                    send(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                    assertEquals("web", read(s).body, "request " + n + " on the busy connection");
                    n++;
                    Thread.sleep(300);
                }
                assertEquals(n, idle.gateway.dataPlane().fastPathRequests());
                long quietFrom = System.nanoTime();
                assertEquals(-1, s.getInputStream().read(), "the quiet connection is closed");
                long quietMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - quietFrom);
                assertTrue(quietMs >= 1500, "closed after " + quietMs + " ms of quiet, not before the timeout");
            }
        } finally {
            cp.close();
        }
    }

    @Test
    void theSwitchTurnsTheFastPathOff() throws Exception {
        int p = FreePorts.next();
        ControlPlane cp = new ControlPlane();
        cp.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)), List.of(Xds.httpListener("http", p, "r")),
                List.of(Xds.routes("r", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
        try (TestGateway off = TestGateway.withXds(cp, Map.of("mesh.gateway.listeners.fast-path", "false"))) {
            await().atMost(Duration.ofSeconds(20)).until(off::ready);
            try (Socket s = new Socket("127.0.0.1", p)) {
                s.setSoTimeout(10_000);
                for (int i = 0; i < 3; i++) {
                    send(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                    assertEquals("web", read(s).body);
                }
            }
            assertEquals(0, off.gateway.dataPlane().fastPathRequests());
        } finally {
            cp.close();
        }
    }

    // A minimal HTTP/1.1 client over a raw socket: exact control of keep-alive and pipelining.

    record Resp(int status, Map<String, String> headers, String body) {
    }

    static Socket socket() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port));
        s.setSoTimeout(20_000);
        return s;
    }

    static void send(Socket s, String data) throws IOException {
        s.getOutputStream().write(data.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    static Resp read(Socket s) throws IOException {
        return read(s, false);
    }

    static Resp read(Socket s, boolean head) throws IOException {
        InputStream in = s.getInputStream();
        String h = readHead(in);
        String[] lines = h.split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (head || status == 204 || status == 304) {
            return new Resp(status, headers, "");
        }
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            while (true) {
                int size = Integer.parseInt(line(in).split(";")[0].trim(), 16);
                if (size == 0) {
                    while (!line(in).isEmpty()) {
                        // trailers
                    }
                    break;
                }
                body.write(in.readNBytes(size));
                line(in);
            }
        } else if (headers.containsKey("content-length")) {
            body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        } else {
            body.write(in.readAllBytes());
        }
        return new Resp(status, headers, body.toString(StandardCharsets.ISO_8859_1));
    }

    static String readHead(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed after " + sb.length() + " bytes of a head: " + sb);
            }
            sb.append((char) b);
        }
        return sb.substring(0, sb.length() - 4);
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (b != '\r') {
                sb.append((char) b);
            }
        }
        return sb.toString();
    }

    private static Map<String, String> echoed(String body) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String l : body.split("\n")) {
            int c = l.indexOf(": ");
            if (c > 0) {
                m.put(l.substring(0, c), l.substring(c + 2));
            }
        }
        return m;
    }

    @Test
    void consistentHashingOnAHeaderOrTheSourceIpKeepsAClientOnOneEndpointOnTheFastPath() throws Exception {
        long before = fast();
        assertEachOf16UsersSticksToOneOfBothEndpoints((user, i) -> "GET /ring/user HTTP/1.1\r\nHost: a\r\nx-user: user-"
                + user + "\r\n\r\n");
        String ipFirst = null;
        for (int i = 0; i < 6; i++) {   // a new connection each time: the same source address
            try (Socket s = socket()) {
                send(s, "GET /ring/ip HTTP/1.1\r\nHost: a\r\n\r\n");
                Resp r = read(s);
                ipFirst = ipFirst == null ? r.body() : ipFirst;
                assertEquals(ipFirst, r.body(), "one source IP, one endpoint");
            }
        }
        assertEquals(before + 16 * 4 + 6, fast(), "the fast path took every request");
    }

    @Test
    void consistentHashingOnAQueryParameterKeepsAUserOnOneEndpointOnTheFastPath() throws Exception {
        long before = fast();
        assertEachOf16UsersSticksToOneOfBothEndpoints((user, i) -> "GET /ring/query?user=u" + user + "&n=" + i
                + " HTTP/1.1\r\nHost: a\r\n\r\n");
        assertEquals(before + 16 * 4, fast(), "the fast path took every request");
    }

    /** 16 users' requests (4 each, {@code request} of user and try) on one connection: each user on one endpoint. */
    static void assertEachOf16UsersSticksToOneOfBothEndpoints(java.util.function.BiFunction<Integer, Integer, String> request)
            throws Exception {
        java.util.Set<String> seen = new java.util.HashSet<>();
        try (Socket s = socket()) {
            for (int user = 0; user < 16; user++) {
                String first = null;
                for (int i = 0; i < 4; i++) {
                    send(s, request.apply(user, i));
                    Resp r = read(s);
                    assertEquals(200, r.status(), r.body());
                    first = first == null ? r.body() : first;
                    assertEquals(first, r.body(), "user " + user + " stays on one endpoint");
                }
                seen.add(first);
            }
        }
        assertEquals(java.util.Set.of("web", "web2"), seen, "16 users spread over both endpoints");
    }

    @Test
    void aHashCookieIsMadeWhenMissingAndKeepsItsClientOnOneEndpoint() throws Exception {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int client = 0; client < 16; client++) {
            try (Socket s = socket()) {   // each connection is another client address, so another cookie
                send(s, "GET /ring/cookie HTTP/1.1\r\nHost: a\r\n\r\n");
                Resp first = read(s);
                assertEquals(200, first.status(), first.body());
                String setCookie = first.headers().get("set-cookie");
                assertTrue(setCookie != null && setCookie.matches("affinity=\"[0-9a-f]+\"; Max-Age=60; Path=/; HttpOnly"),
                        String.valueOf(first.headers()));
                String cookie = setCookie.substring(0, setCookie.indexOf(';'));
                for (int i = 0; i < 3; i++) {
                    send(s, "GET /ring/cookie HTTP/1.1\r\nHost: a\r\nCookie: " + cookie + "\r\n\r\n");
                    Resp r = read(s);
                    assertEquals(first.body(), r.body(), "the cookie keeps client " + client + " on one endpoint");
                    assertEquals(null, r.headers().get("set-cookie"), "no new cookie when the request has one");
                }
                seen.add(first.body());
            }
        }
        assertEquals(java.util.Set.of("web", "web2"), seen, "16 clients' cookies spread over both endpoints");
    }
}
