package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.mesh.testing.FreePorts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Request mirroring (VirtualService {@code mirror}/{@code mirrors}, Envoy's {@code request_mirror_policies}) of
 * bodies of any size, streamed to the upstream and to each mirror at once; a mirror never changes the exchange.
 * The upstream and the mirrors are real servers that hash what they read ({@code /digest}).
 */
class MirrorTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Backend upstream;
    static Backend shadow;
    static Backend failing;
    static Backend never;
    /** A mirror that accepts connections and never reads from them. */
    static ServerSocket stalled;
    static final List<Socket> STALLED_CONNECTIONS = new CopyOnWriteArrayList<>();
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        upstream = MESH.backend("upstream");
        shadow = MESH.backend("shadow");
        failing = MESH.backend("failing");
        failing.forceStatus = 500;
        never = MESH.backend("never");
        // The accepted connections: closed after the listening socket (the fixture closes newest first).
        MESH.closing(() -> {
            for (Socket s : STALLED_CONNECTIONS) {
                s.close();
            }
        });
        stalled = MESH.closing(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
        Thread acceptor = new Thread(() -> {
            while (!stalled.isClosed()) {
                try {
                    STALLED_CONNECTIONS.add(stalled.accept());
                } catch (IOException e) {
                    // closed (the loop ends), or a connection reset before it was taken: the next one
                }
            }
        }, "stalled-mirror");
        acceptor.setDaemon(true);
        acceptor.start();
        int refused = FreePorts.next();
        pilot = MESH.pilot();
        port = FreePorts.next();
        var vh = Xds.vhost("all", List.of("*"),
                mirrored("/digest", mirror("shadow")),
                mirrored("/stalled", mirror("stalled")),
                mirrored("/broken", mirror("refused"), mirror("failing")),
                mirrored("/sampled", mirror("never").toBuilder().setRuntimeFraction(RuntimeFractionalPercent.newBuilder()
                        .setDefaultValue(FractionalPercent.newBuilder().setNumerator(0)
                                .setDenominator(FractionalPercent.DenominatorType.MILLION))).build(), mirror("shadow")));
        pilot.set(List.of(Xds.edsCluster("upstream"), Xds.edsCluster("shadow"), Xds.edsCluster("stalled"),
                        Xds.edsCluster("refused"), Xds.edsCluster("failing"), Xds.edsCluster("never")),
                List.of(Xds.endpoints("upstream", upstream.port), Xds.endpoints("shadow", shadow.port),
                        Xds.endpoints("stalled", stalled.getLocalPort()), Xds.endpoints("refused", refused),
                        Xds.endpoints("failing", failing.port), Xds.endpoints("never", never.port)),
                List.of(Xds.httpListener("http", port, "http.80")), List.of(Xds.routes("http.80", vh)), List.of());
        gw = MESH.startGateway(Map.of());
    }

    static RouteAction.RequestMirrorPolicy mirror(String cluster) {
        return RouteAction.RequestMirrorPolicy.newBuilder().setCluster(cluster).build();
    }

    /** A route on {@code prefix} to the upstream's {@code /digest}, with these mirrors. */
    static Route mirrored(String prefix, RouteAction.RequestMirrorPolicy... mirrors) {
        return Route.newBuilder().setName(prefix).setMatch(RouteMatch.newBuilder().setPrefix(prefix))
                .setRoute(RouteAction.newBuilder().setCluster("upstream").setPrefixRewrite("/digest")
                        .addAllRequestMirrorPolicies(List.of(mirrors))).build();
    }

    static byte[] random(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    /** What {@code /digest} answers for this body: its length and SHA-256. */
    static String digest(byte[] body) {
        return body.length + " " + HexFormat.of().formatHex(Backend.sha256().digest(body));
    }

    static HttpResponse<String> post(String path, HttpRequest.BodyPublisher body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(60))
                .POST(body).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpRequest.BodyPublisher chunked(byte[] body) {
        return HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body));
    }

    @Test
    void aLargeBodyWithContentLengthReachesTheUpstreamAndTheMirrorWhole() throws Exception {
        byte[] body = random(5 * 1024 * 1024);
        HttpResponse<String> r = post("/digest", HttpRequest.BodyPublishers.ofByteArray(body));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(digest(body), r.body());
        await().atMost(Duration.ofSeconds(20)).until(() -> digest(body).equals(shadow.lastDigest));
        assertEquals("content-length " + body.length, shadow.lastFraming);
        assertTrue(shadow.lastHost.startsWith("127.0.0.1-shadow:"), shadow.lastHost);
    }

    @Test
    void aChunkedBodyReachesTheUpstreamAndTheMirrorWholeAndChunked() throws Exception {
        byte[] body = random(5 * 1024 * 1024 + 17);
        HttpResponse<String> r = post("/digest", chunked(body));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(digest(body), r.body());
        await().atMost(Duration.ofSeconds(20)).until(() -> digest(body).equals(shadow.lastDigest));
        assertEquals("transfer-encoding chunked", shadow.lastFraming);
    }

    @Test
    void aSmallBodyAndNoBodyAreMirroredToo() throws Exception {
        // Requests the fast path would take, but for the mirror: they take the Vert.x path, which mirrors.
        long fast = gw.gateway.dataPlane().fastPathRequests();
        byte[] small = random(1000);
        assertEquals(digest(small), post("/digest", HttpRequest.BodyPublishers.ofByteArray(small)).body());
        await().atMost(Duration.ofSeconds(10)).until(() -> digest(small).equals(shadow.lastDigest));
        assertEquals(digest(new byte[0]), post("/digest", HttpRequest.BodyPublishers.noBody()).body());
        await().atMost(Duration.ofSeconds(10)).until(() -> digest(new byte[0]).equals(shadow.lastDigest));
        assertEquals(fast, gw.gateway.dataPlane().fastPathRequests());
    }

    @Test
    void aMirrorThatReadsNothingIsAbortedAndTheUploadCompletes() throws Exception {
        long aborted = gw.gateway.dataPlane().mirrorsAborted();
        byte[] body = random(20 * 1024 * 1024);
        // Were the upload paced by the stalled mirror too, it would stop once the sockets' buffers filled. (The body
        // waits after its first bytes until the mirror has its connection: else it could run ahead of the connect by
        // more than the mirror's buffer, and the mirror would be aborted before it has a connection to reset.)
        String r = rawPost("/stalled", body, false, 1);
        assertTrue(r.startsWith("HTTP/1.1 200"), r);
        assertTrue(r.endsWith("\r\n\r\n" + digest(body)), r);
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().mirrorsAborted() == aborted + 1);
        // Chunked, too (the mirror's request is chunked: the abort still ends it as a reset, not as a whole body).
        String c = rawPost("/stalled", body, true, 2);
        assertTrue(c.endsWith("\r\n\r\n" + digest(body)), c);
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().mirrorsAborted() == aborted + 2);
        // Aborted means reset: each mirror connection ends in an RST, not in a FIN after the bytes queued for it (which
        // a stalled mirror would never take: the connection would stay open for ever).
        assertEquals(2, STALLED_CONNECTIONS.size());
        for (Socket s : STALLED_CONNECTIONS) {
            assertThrows(SocketException.class, () -> readToEnd(s));
        }
    }

    /**
     * A POST over a plain socket (with a Content-Length, or chunked) whose body pauses after its first 16 KiB until
     * the stalled mirror has had {@code connections} connections; returns the whole response.
     */
    static String rawPost(String path, byte[] body, boolean chunked, int connections) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            var out = new java.io.BufferedOutputStream(s.getOutputStream(), 64 * 1024);
            out.write(("POST " + path + " HTTP/1.1\r\nhost: mirror.test\r\nconnection: close\r\n"
                    + (chunked ? "transfer-encoding: chunked" : "content-length: " + body.length) + "\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            int first = 16 * 1024;
            for (int off = 0; off < body.length; off += first) {
                if (off == first) {
                    out.flush();
                    await().atMost(Duration.ofSeconds(10)).until(() -> STALLED_CONNECTIONS.size() >= connections);
                }
                int n = Math.min(first, body.length - off);
                if (chunked) {
                    out.write((Integer.toHexString(n) + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                }
                out.write(body, off, n);
                if (chunked) {
                    out.write(new byte[] {'\r', '\n'});
                }
            }
            if (chunked) {
                out.write("0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            out.flush();
            s.setSoTimeout(60_000);
            return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
        }
    }

    /** Reads until the end of the stream, which a reset turns into a SocketException. */
    static void readToEnd(Socket s) throws IOException {
        s.setSoTimeout(10_000);
        byte[] buf = new byte[64 * 1024];
        while (s.getInputStream().read(buf) >= 0) {
            // drop
        }
    }

    @Test
    void mirrorsThatRefuseConnectionsOrAnswer500ChangeNothing() throws Exception {
        int failed = failing.hits.get();
        for (byte[] body : List.of(new byte[0], random(2000), random(3 * 1024 * 1024))) {
            HttpResponse<String> r = post("/broken", HttpRequest.BodyPublishers.ofByteArray(body));
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(digest(body), r.body());
            HttpResponse<String> c = post("/broken", chunked(body));
            assertEquals(200, c.statusCode(), c.body());
            assertEquals(digest(body), c.body());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> failing.hits.get() >= failed + 6);
    }

    @Test
    void aMirrorPercentageOfZeroSendsNothing() throws Exception {
        // The route mirrors to "never" at 0% and to "shadow" at 100%: once the shadow has the last copy, "never" would
        // have had its copies too.
        int shadowHits = shadow.hits.get();
        byte[] body = random(1000);
        for (int i = 0; i < 20; i++) {
            assertEquals(digest(body), post("/sampled", HttpRequest.BodyPublishers.ofByteArray(body)).body());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> shadow.hits.get() >= shadowHits + 20);
        assertEquals(0, never.hits.get());
    }
}
