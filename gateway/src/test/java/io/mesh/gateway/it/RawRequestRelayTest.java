package io.mesh.gateway.it;

import static io.mesh.gateway.it.FastPathTest.read;
import static io.mesh.gateway.it.FastPathTest.readHead;
import static io.mesh.gateway.it.FastPathTest.send;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.mesh.testing.FreePorts;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fast path's request-side byte relay (plain heads read from the bytes, forwarded as bytes) through its real
 * interface: raw sockets against a running gateway, and an origin that records every request exactly as the bytes it
 * received. The heads the origin sees are compared byte for byte with what the decoded fast path sends for the same
 * head (a connection whose first request was chunked never reads heads raw), and with the expected text.
 */
class RawRequestRelayTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Backend web;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static ServerSocket origin;
    /** What the origin received: one entry per request, the head's bytes (as ISO-8859-1) and the decoded body. */
    static final BlockingQueue<Captured> CAPTURED = new LinkedBlockingQueue<>();

    record Captured(String head, String body) {
    }

    @BeforeAll
    static void start() throws Exception {
        web = MESH.backend("web");
        origin = MESH.closing(new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()));
        Thread t = new Thread(RawRequestRelayTest::serve, "capturing-origin");
        t.setDaemon(true);
        t.start();
        pilot = MESH.pilot();
        port = FreePorts.next();
        Route edited = Route.newBuilder().setName("edited").setMatch(RouteMatch.newBuilder().setPrefix("/edit/"))
                .setRoute(RouteAction.newBuilder().setCluster("origin").setPrefixRewrite("/rewritten/"))
                .addRequestHeadersToAdd(HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder()
                        .setKey("x-added").setValue("yes")))
                .addRequestHeadersToRemove("x-gone").build();
        pilot.set(List.of(Xds.edsCluster("web"), Xds.edsCluster("origin")),
                List.of(Xds.endpoints("web", web.port), Xds.endpoints("origin", origin.getLocalPort())),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), edited, Xds.prefixTo("/ws", "web"),
                        Xds.prefixTo("/", "origin")))), List.of());
        // A header timeout above awaitRead's 5 s: a head split by a test that waits for each read is never cut off by it,
        // even on a loaded machine.
        gw = MESH.startGateway(Map.of("mesh.gateway.limits.request-header-timeout", "10s",
                "mesh.gateway.limits.max-header-bytes", "4096", "mesh.gateway.limits.max-headers", "20"));
    }

    @BeforeEach
    void clear() {
        CAPTURED.clear();
    }

    /** Keep-alive origin: records each request's head bytes and body (Content-Length or chunked), answers its path. */
    private static void serve() {
        while (!origin.isClosed()) {
            try {
                Socket s = origin.accept();
                Thread t = new Thread(() -> {
                    try (s) {
                        InputStream in = s.getInputStream();
                        OutputStream out = s.getOutputStream();
                        while (true) {
                            String head = readHead(in) + "\r\n\r\n";
                            String body = body(in, head);
                            CAPTURED.add(new Captured(head, body));
                            String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
                            String answer = path + " " + body.length();
                            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + answer.length() + "\r\n\r\n" + answer)
                                    .getBytes(StandardCharsets.ISO_8859_1));
                            out.flush();
                        }
                    } catch (Exception e) {
                        // the gateway closed the connection
                    }
                }, "capturing-origin-connection");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                // closed
            }
        }
    }

    private static String body(InputStream in, String head) throws IOException {
        String lower = head.toLowerCase(Locale.ROOT);
        int cl = lower.indexOf("\r\ncontent-length:");
        if (cl >= 0) {
            int end = lower.indexOf("\r\n", cl + 2);
            int n = Integer.parseInt(lower.substring(cl + 17, end).trim());
            return new String(in.readNBytes(n), StandardCharsets.ISO_8859_1);
        }
        if (lower.contains("\r\ntransfer-encoding: chunked\r\n")) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            while (true) {
                int size = Integer.parseInt(line(in).split(";")[0].trim(), 16);
                if (size == 0) {
                    while (!line(in).isEmpty()) {
                        // trailers
                    }
                    return b.toString(StandardCharsets.ISO_8859_1);
                }
                b.write(in.readNBytes(size));
                line(in);
            }
        }
        return "";
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    static Socket socket() throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(new InetSocketAddress("127.0.0.1", port));
        s.setSoTimeout(20_000);
        return s;
    }

    static long fast() {
        return gw.gateway.dataPlane().fastPathRequests();
    }

    /** Heads the relay took as bytes so far (the decoded fast path forwards the same bytes; only this tells them apart). */
    static long relayed() {
        return gw.gateway.dataPlane().rawRelayedRequests();
    }

    /**
     * Waits until the gateway has read everything sent on {@code s}: its side of the connection has no unread bytes
     * in the kernel (rx_queue in /proc/net/tcp or tcp6, as the epoll transport may hold it as a v4-mapped socket),
     * so what is sent next arrives in a read of its own.
     */
    static void awaitRead(Socket s) throws Exception {
        String local = String.format(":%04X", port);
        String remote = String.format(":%04X", s.getLocalPort());
        // A bound for a loaded 2-CPU machine (one failure there at 5 s), not a speed check: it returns once read.
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(1)).until(() -> {
            for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
                for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(table))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 4 && f[1].endsWith(local) && f[2].endsWith(remote)) {
                        return Integer.parseInt(f[4].substring(f[4].indexOf(':') + 1), 16) == 0;
                    }
                }
            }
            throw new AssertionError("no gateway socket" + local + " <-" + remote + " in /proc/net/tcp or tcp6");
        });
    }

    static Captured captured() throws InterruptedException {
        Captured c = CAPTURED.poll(10, TimeUnit.SECONDS);
        assertTrue(c != null, "the origin received the request");
        return c;
    }

    /** The random parts of a forwarded head (x-request-id, traceparent's parent id) replaced by placeholders. */
    static String masked(String head) {
        return head.replaceAll("x-request-id: [0-9a-f-]{36}\r\n", "x-request-id: <id>\r\n")
                .replaceAll("traceparent: 00-([0-9a-f]{32})-[0-9a-f]{16}-(0[01])\r\n", "traceparent: 00-$1-<span>-$2\r\n");
    }

    /** A connection whose first request is chunked: raw reading ends there, the requests after it are decoded. */
    static Socket decodedConnection() throws Exception {
        Socket s = socket();
        send(s, "POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        assertEquals("/chunked 3", read(s).body());
        assertEquals("abc", captured().body());
        return s;
    }

    static final String PLAIN_HEAD = "POST /submit?x=1 HTTP/1.1\r\nHost: shop.example:8080\r\nUser-Agent: t/1\r\n"
            + "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n"
            + "Accept:   */*  \r\nProxy-Connection: keep-alive\r\n"
            + "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Length: 5\r\nX-Empty:\r\n"
            + "x-b: 2\r\n\r\n";

    static final String PLAIN_FORWARDED = "POST /submit?x=1 HTTP/1.1\r\nUser-Agent: t/1\r\nAccept: */*\r\nContent-Length: 5\r\n"
            + "X-Empty: \r\nx-b: 2\r\nx-forwarded-for: 10.0.0.1, 127.0.0.1\r\nx-forwarded-proto: http\r\nx-request-id: <id>\r\n"
            + "traceparent: 00-0af7651916cd43dd8448eb211c80319c-<span>-01\r\nhost: shop.example:8080\r\n\r\n";

    /**
     * The origin receives exactly the head the decoded fast path sends: hop-by-hop headers (Connection, Keep-Alive,
     * Proxy-Connection, Host) left out, the rest in order, "name: value" each, x-forwarded-for extended,
     * x-forwarded-proto and traceparent (same trace, new span) set once at the end, x-request-id added, then Host.
     */
    @Test
    void theForwardedHeadIsExactlyTheDecodedPathsHead() throws Exception {
        long before = fast();
        long relayedBefore = relayed();
        String raw;
        try (Socket s = socket()) {
            send(s, PLAIN_HEAD + "hello");
            assertEquals("/submit?x=1 5", read(s).body());
            Captured c = captured();
            assertEquals("hello", c.body());
            raw = c.head();
        }
        assertEquals(relayedBefore + 1, relayed(), "the head was relayed as bytes");
        assertEquals(PLAIN_FORWARDED, masked(raw));
        assertTrue(!raw.contains("b7ad6b7169203331"), "a new span id: " + raw);
        String decoded;
        try (Socket s = decodedConnection()) {
            send(s, PLAIN_HEAD + "hello");
            assertEquals("/submit?x=1 5", read(s).body());
            decoded = captured().head();
        }
        assertEquals(masked(decoded), masked(raw));
        assertNotEquals(raw, decoded, "random ids differ per request");
        assertEquals(before + 3, fast());
        assertEquals(relayedBefore + 1, relayed(), "the chunked request and the one after it were decoded");
    }

    /** A route that rewrites the path and edits request headers: the raw head goes through the same edits. */
    @Test
    void routeRewritesAndHeaderEditsApplyAsOnTheDecodedPath() throws Exception {
        String head = "GET /edit/x?q=1 HTTP/1.1\r\nHost: a\r\nx-gone: 1\r\nx-keep: 2\r\nX-Request-Id: given\r\n\r\n";
        String raw;
        long relayedBefore = relayed();
        try (Socket s = socket()) {
            send(s, head);
            assertEquals("/rewritten/x?q=1 0", read(s).body());
            raw = captured().head();
        }
        assertEquals(relayedBefore + 1, relayed());
        assertEquals("GET /rewritten/x?q=1 HTTP/1.1\r\nx-keep: 2\r\nX-Request-Id: given\r\nx-forwarded-for: 127.0.0.1\r\n"
                + "x-forwarded-proto: http\r\ntraceparent: 00-<trace>-<span>-0x\r\nx-added: yes\r\nhost: a\r\n\r\n",
                raw.replaceAll("traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", "traceparent: 00-<trace>-<span>-0x"));
        try (Socket s = decodedConnection()) {
            send(s, head);
            assertEquals("/rewritten/x?q=1 0", read(s).body());
            String decoded = captured().head();
            // Both start a new trace, each with its own sampling decision: only the trace ids and flags may differ.
            assertEquals(newTrace(masked(decoded)), newTrace(masked(raw)));
        }
    }

    private static String newTrace(String maskedHead) {
        return maskedHead.replaceAll("traceparent: 00-[0-9a-f]{32}-<span>-0[01]\r\n", "traceparent: 00-<trace>-<span>-<flags>\r\n");
    }

    /** A head and body split into two reads at every byte: the origin gets the same head and body each time. */
    @Test
    void aRequestSplitAtAnyByteIsRelayedTheSame() throws Exception {
        String request = "POST /split HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nContent-Length: 6\r\n\r\nabcdef";
        String expected = "POST /split HTTP/1.1\r\nX-A: 1\r\nContent-Length: 6\r\nx-forwarded-for: 127.0.0.1\r\n"
                + "x-forwarded-proto: http\r\nx-request-id: <id>\r\ntraceparent: 00-<trace>-<span>-0x\r\nhost: a\r\n\r\n";
        long before = fast();
        long relayedBefore = relayed();
        try (Socket s = socket()) {
            for (int cut = 1; cut < request.length(); cut++) {
                send(s, request.substring(0, cut));
                awaitRead(s);
                send(s, request.substring(cut));
                assertEquals("/split 6", read(s).body(), "split at " + cut);
                Captured c = captured();
                assertEquals("abcdef", c.body(), "split at " + cut);
                assertEquals(expected, masked(c.head()).replaceAll("00-[0-9a-f]{32}-<span>-0[01]", "00-<trace>-<span>-0x"),
                        "split at " + cut);
            }
            // And one byte per write.
            for (int i = 0; i < request.length(); i++) {
                send(s, request.substring(i, i + 1));
                awaitRead(s);
            }
            assertEquals("/split 6", read(s).body());
            assertEquals("abcdef", captured().body());
        }
        assertEquals(before + request.length(), fast());
        assertEquals(relayedBefore + request.length(), relayed());
    }

    /** Pipelined requests, some with bodies, sent in one write and split oddly: answered and forwarded in order. */
    @Test
    void pipelinedRequestsStayInOrder() throws Exception {
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            all.append(i % 2 == 0 ? "GET /p" + i + " HTTP/1.1\r\nHost: a\r\n\r\n"
                    : "PUT /p" + i + " HTTP/1.1\r\nHost: a\r\nContent-Length: " + i + "\r\n\r\n" + "b".repeat(i));
        }
        long before = fast();
        long relayedBefore = relayed();
        try (Socket s = socket()) {
            send(s, all.substring(0, 50));
            awaitRead(s);
            send(s, all.substring(50));
            for (int i = 0; i < 6; i++) {
                assertEquals("/p" + i + " " + (i % 2 == 0 ? 0 : i), read(s).body());
            }
            for (int i = 0; i < 6; i++) {
                Captured c = captured();
                assertTrue(c.head().startsWith((i % 2 == 0 ? "GET" : "PUT") + " /p" + i + " HTTP/1.1\r\n"), c.head());
                assertEquals("b".repeat(i % 2 == 0 ? 0 : i), c.body());
            }
        }
        assertEquals(before + 6, fast());
        assertEquals(relayedBefore + 6, relayed());
    }

    /** A large Content-Length body arrives over many reads: the origin gets every byte, in order. */
    @Test
    void aLargeContentLengthBodyIsRelayedWhole() throws Exception {
        StringBuilder body = new StringBuilder();
        for (int i = 0; body.length() < 300_000; i++) {
            body.append(i).append(',');
        }
        try (Socket s = socket()) {
            send(s, "PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            send(s, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals("/big " + body.length(), read(s).body());
            assertEquals("/after 0", read(s).body());
        }
        assertEquals(body.toString(), captured().body());
        assertEquals("", captured().body());
    }

    /**
     * Heads the relay does not take (chunked, Expect, a Connection naming a header, an upgrade) go to Vert.x's
     * decoder from their first byte, after raw requests on the same connection, and the connection goes on.
     */
    @Test
    void headsItDoesNotTakeFallBackAndTheConnectionGoesOn() throws Exception {
        long relayedBefore = relayed();
        try (Socket s = socket()) {
            send(s, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals("/one 0", read(s).body());
            send(s, "POST /two HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n"
                    + "GET /three HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals("/two 4", read(s).body());
            assertEquals("/three 0", read(s).body());
        }
        assertEquals(List.of("", "wxyz", ""), List.of(captured().body(), captured().body(), captured().body()));
        try (Socket s = socket()) {
            send(s, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals("/one 0", read(s).body());
            send(s, "POST /expect HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
            assertTrue(readHead(s.getInputStream()).startsWith("HTTP/1.1 100"));
            send(s, "xyz");
            assertEquals("/expect 3", read(s).body());
            send(s, "GET /named HTTP/1.1\r\nHost: a\r\nConnection: x-hop\r\nx-hop: 1\r\nx-end: 2\r\n\r\n");
            assertEquals("/named 0", read(s).body());
        }
        captured();
        assertEquals("xyz", captured().body());
        String named = captured().head();
        assertTrue(!named.toLowerCase(Locale.ROOT).contains("x-hop") && named.contains("x-end: 2\r\n"), named);
        try (Socket s = socket()) {
            send(s, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals("/one 0", read(s).body());
            send(s, "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            String head = readHead(s.getInputStream());
            assertTrue(head.startsWith("HTTP/1.1 101"), head);
            // A masked text frame "hi"; the backend echoes it unmasked.
            s.getOutputStream().write(new byte[] {(byte) 0x81, (byte) 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2});
            byte[] echo = s.getInputStream().readNBytes(4);
            assertEquals("hi", new String(echo, 2, 2, StandardCharsets.US_ASCII));
        }
        assertEquals(relayedBefore + 3, relayed(), "only the first request of each connection was relayed as bytes");
    }

    /** Limits still answer as Vert.x does: a head over the header bytes 431, too many headers 431, a bad line 400. */
    @Test
    void limitsAndMalformedHeadsGetTheDecodersAnswers() throws Exception {
        for (boolean after : new boolean[] {false, true}) {
            try (Socket s = socket()) {
                if (after) {
                    send(s, "GET /first HTTP/1.1\r\nHost: a\r\n\r\n");
                    assertEquals("/first 0", read(s).body());
                }
                send(s, "GET /big HTTP/1.1\r\nHost: a\r\nx-big: " + "x".repeat(5000) + "\r\n\r\n");
                assertEquals(431, read(s).status(), "after a raw request: " + after);
            }
            try (Socket s = socket()) {
                if (after) {
                    send(s, "GET /first HTTP/1.1\r\nHost: a\r\n\r\n");
                    assertEquals("/first 0", read(s).body());
                }
                StringBuilder many = new StringBuilder("GET /many HTTP/1.1\r\nHost: a\r\n");
                for (int i = 0; i < 25; i++) {
                    many.append("x-h").append(i).append(": v\r\n");
                }
                send(s, many.append("\r\n").toString());
                assertEquals(431, read(s).status(), "after a raw request: " + after);
            }
            try (Socket s = socket()) {
                if (after) {
                    send(s, "GET /first HTTP/1.1\r\nHost: a\r\n\r\n");
                    assertEquals("/first 0", read(s).body());
                }
                send(s, "THIS IS NOT HTTP\r\n\r\n");
                String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                // Vert.x answers a line it cannot parse as HTTP/1.0 (as without the relay: HostileInputTest).
                assertTrue(reply.startsWith("HTTP/1.1 400") || reply.startsWith("HTTP/1.0 400"), reply);
            }
        }
        // A control character in a value: not relayed, answered as without the relay (Vert.x's decoder rejects it).
        long relayedBefore = relayed();
        try (Socket s = socket()) {
            send(s, "GET /ctl HTTP/1.1\r\nHost: a\r\nx-ctl: abcdefghij\u0001klmnopqrstuv\r\n\r\n");
            assertEquals(400, read(s).status());
        }
        assertEquals(relayedBefore, relayed());
        // Exactly at the header count limit (20 lines with Host) is still relayed.
        CAPTURED.clear();
        try (Socket s = socket()) {
            StringBuilder h = new StringBuilder("GET /twenty HTTP/1.1\r\nHost: a\r\n");
            for (int i = 0; i < 19; i++) {
                h.append("x-h").append(i).append(": v\r\n");
            }
            send(s, h.append("\r\n").toString());
            assertEquals("/twenty 0", read(s).body());
            assertTrue(captured().head().contains("x-h18: v\r\n"));
        }
    }

    /** A partial head that stops coming is closed by the request-header timeout, as before. */
    @Test
    void aStalledPartialHeadIsClosedByTheHeaderTimeout() throws Exception {
        try (Socket s = socket()) {
            send(s, "GET /first HTTP/1.1\r\nHost: a\r\n\r\n");
            assertEquals("/first 0", read(s).body());
            long t0 = System.nanoTime();
            send(s, "GET /stalled HTTP/1.1\r\nHost: a\r\n");
            assertEquals(-1, s.getInputStream().read());
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 9000 && ms < 20_000, "closed after " + ms + " ms");
        }
    }

    /** Raw-relayed requests are counted in the Istio meters as decoded ones: count, code, cluster, request bytes. */
    @Test
    void theMetersCountRawRequestsLikeDecodedOnes() throws Exception {
        double count = requests();
        double bytes = requestBytes();
        long before = fast();
        long relayedBefore = relayed();
        try (Socket s = socket()) {
            for (int i = 0; i < 4; i++) {
                send(s, "PUT /m HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789");
                assertEquals("/m 10", read(s).body());
                assertEquals("0123456789", captured().body());
            }
        }
        try (Socket s = decodedConnection()) {
            send(s, "PUT /m HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789");
            assertEquals("/m 10", read(s).body());
        }
        assertEquals(before + 6, fast());
        assertEquals(relayedBefore + 4, relayed());
        await().atMost(Duration.ofSeconds(5)).until(() -> requests() >= count + 6);
        assertEquals(count + 6, requests());
        // 4 raw and 1 decoded request of 10 body bytes, 1 decoded chunked request of 3.
        await().atMost(Duration.ofSeconds(5)).until(() -> requestBytes() >= bytes + 53);
        assertEquals(bytes + 53, requestBytes());
    }

    private static double requests() {
        return gw.registry.find("istio_requests").tag("response_code", "200").tag("destination_service", "origin")
                .counters().stream().mapToDouble(Counter::count).sum();
    }

    private static double requestBytes() {
        List<DistributionSummary> all = new ArrayList<>(gw.registry.find("istio_request_bytes")
                .tag("destination_service", "origin").summaries());
        return all.stream().mapToDouble(DistributionSummary::totalAmount).sum();
    }
}
