package io.mesh.gateway.it;

import static io.mesh.gateway.it.TcpProxyFixtures.cluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.mesh.testing.FreePorts;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Envoy's {@code upstream_transport_failure_reason}: a cluster whose TLS origination fails (the backend's certificate
 * is not from the CA the cluster trusts) writes why in the access log line, of a request (503 UF, on the fast path and
 * on the Vert.x path; {@code response_code_details} {@code upstream_reset_before_response_started{connection_failure|...}})
 * and of a tcp_proxy connection (UF), and the CEL filter reads it as {@code upstream.transport_failure_reason}. A JDK TLS
 * backend, clients on raw sockets, a real gateway; lines read from {@code io.mesh.gateway.access}.
 */
class UpstreamTransportFailureTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static int http;
    static int tcp;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        TlsTermination.dir = Files.createTempDirectory("upstream-transport-failure");
        String[] served = TlsTermination.cert("backend.local");
        String[] trusted = TlsTermination.cert("other.local");   // the CA the clusters trust: not the backend's
        ServerSocket backend = MESH.closing(RouterTcpHalfCloseOverTlsTest.tlsServer(served));
        int backendPort = RouterTcpHalfCloseOverTlsTest.answerAtEof(backend);
        http = FreePorts.next();
        tcp = FreePorts.next();
        Listener web = HttpResponseCodeDetailsTest.httpListener("http", http,
                HttpResponseCodeDetailsTest.withAccessLog(null));
        Listener relay = TcpProxyFixtures.listener(tcp, "untrusted", t -> t.addAccessLog(
                TcpAccessLogTest.log("has(upstream.transport_failure_reason) && response.flags == 32u")));
        MESH.pilot().set(List.of(UpstreamTlsTest.tls("untrusted-http", trusted[0], null),
                        UpstreamTlsTest.tls(cluster("untrusted"), trusted[0], null)),
                List.of(Xds.endpoints("untrusted-http", backendPort), Xds.endpoints(cluster("untrusted"), backendPort)),
                List.of(web, relay),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "untrusted-http")))),
                List.of());
        MESH.startGateway(Map.of());
    }

    @AfterAll
    static void stop() {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
    }

    static String line(String contains) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> CAPTURE.lines.stream().anyMatch(l -> l.contains(contains)));
        return CAPTURE.lines.stream().filter(l -> l.contains(contains)).findFirst().orElseThrow();
    }

    @Test
    void aRequestWhoseUpstreamTlsFailsIsLoggedWithTheReasonOnBothPaths() throws Exception {
        // HTTP/1.1 is the fast path's, HTTP/1.0 the Vert.x path's.
        for (String version : new String[] {"HTTP/1.1", "HTTP/1.0"}) {
            String id = "tls-" + version;
            try (Socket s = new Socket("127.0.0.1", http)) {
                s.setSoTimeout(20_000);
                FastPathTest.send(s, "GET / " + version + "\r\nHost: a\r\nx-request-id: " + id + "\r\n\r\n");
                assertEquals(503, FastPathTest.read(s).status());
            }
            String line = line("\"request_id\":\"" + id + "\"");
            assertTrue(line.contains("\"response_flags\":\"UF\""), line);
            assertTrue(line.matches(".*\"upstream_transport_failure_reason\":\"TLS_error: [^\"]+\".*"), line);
            assertTrue(line.matches(".*\"response_code_details\":\"upstream_reset_before_response_started"
                    + "\\{connection_failure\\|TLS_error:_[^\" ]+}\".*"), line);
        }
    }

    @Test
    void aTcpConnectionWhoseUpstreamTlsFailsIsLoggedWithUfAndTheReason() throws Exception {
        int client;
        try (Socket s = new Socket("127.0.0.1", tcp)) {
            s.setSoTimeout(10_000);
            client = s.getLocalPort();
            try {
                s.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
                while (s.getInputStream().read() != -1) {
                    // until the gateway gives up on the upstream and ends this connection
                }
            } catch (java.io.IOException ended) {
                // a reset
            }
        }
        String line = line("\"downstream_remote_address\":\"127.0.0.1:" + client + "\"");
        assertTrue(line.contains("\"response_flags\":\"UF\""), line);
        assertTrue(line.matches(".*\"upstream_transport_failure_reason\":\"TLS_error: [^\"]+\".*"), line);
        assertTrue(line.contains("\"upstream_host\":\"127.0.0.1:"), line);
    }
}
