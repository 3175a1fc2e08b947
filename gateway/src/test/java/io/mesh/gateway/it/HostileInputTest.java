package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile input while another client keeps steady load: each attack gets its answer (431, 400, a closed
 * connection, refused connections) and the steady client sees no failure.
 */
class HostileInputTest {

    static final int MAX_CONNECTIONS = 300;
    static Vertx vertx;
    static Backend web;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    Load load;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        web = new Backend(vertx, "web");
        pilot = new ControlPlane();
        port = FreePorts.next();
        pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
        gw = TestGateway.withXds(pilot, Map.of("mesh.gateway.limits.idle-timeout", "2s",
                "mesh.gateway.limits.max-connections", Integer.toString(MAX_CONNECTIONS)));
        await().atMost(Duration.ofSeconds(20)).until(gw::ready);
    }

    @AfterAll
    static void stop() throws Exception {
        gw.close();
        pilot.close();
        vertx.close();
    }

    @BeforeEach
    void steadyLoad() {
        load = new Load("http://127.0.0.1:" + port + "/", 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > 50);
    }

    @AfterEach
    void noSteadyRequestFailed() throws Exception {
        int ok = load.ok.get();
        await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > ok + 50);
        load.close();
        assertEquals(0, load.failed.get(), "steady client failures, last: " + load.lastFailure.get());
    }

    @Test
    void a100KbHeaderGets431() throws Exception {
        String big = "x".repeat(100 * 1024);
        String out = Run.run(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "-H", "x-big: " + big,
                "http://127.0.0.1:" + port + "/"), null);
        assertEquals("431", out);
    }

    @Test
    void tooManyHeadersGet431() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}"));
        for (int i = 0; i < 150; i++) {
            cmd.add("-H");
            cmd.add("x-h" + i + ": v");
        }
        cmd.add("http://127.0.0.1:" + port + "/");
        assertEquals("431", Run.run(cmd, null));
    }

    @Test
    void aSlowlorisConnectionIsClosedWhenItStalls() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port));
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: slow\r\nX-Drip: 1\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.setSoTimeout(15_000);
            assertEquals(-1, s.getInputStream().read(), "the gateway closes the connection");
        }
    }

    @Test
    void aMalformedRequestLineGets400AndAClose() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port));
            s.setSoTimeout(10_000);
            s.getOutputStream().write("THIS IS NOT HTTP\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(reply.startsWith("HTTP/1.1 400") || reply.startsWith("HTTP/1.0 400"), reply);
        }
    }

    /**
     * 10,000 connections that never send a byte, opened by a separate process (so the file descriptors are
     * not the test JVM's): the steady client is unaffected and the gateway closes every one of them.
     */
    @Test
    void tenThousandIdleConnectionsAreClosedWithoutHurtingOthers() throws Exception {
        String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String source = java.nio.file.Path.of(HostileInputTest.class.getResource("/IdleConnections.java").toURI()).toString();
        String out = Run.run(List.of(javaBin, source, Integer.toString(port), "10000"), null).trim();
        assertEquals("10000 10000", out);
        assertTrue(gw.gateway.dataPlane().openConnections() <= MAX_CONNECTIONS);
    }

    private static int closedByGateway(List<Socket> sockets) throws Exception {
        int closed = 0;
        for (Socket s : sockets) {
            InputStream in = s.getInputStream();
            s.setSoTimeout(1);
            try {
                if (in.read() == -1) {
                    closed++;
                }
            } catch (java.net.SocketTimeoutException open) {
                // still open
            } catch (java.io.IOException reset) {
                closed++;
            }
        }
        return closed;
    }
}
