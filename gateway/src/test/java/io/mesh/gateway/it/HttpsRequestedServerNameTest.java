package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.testing.FreePorts;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A request over a router's HTTPS listener has Istio's {@code requested_server_name} (the ClientHello's SNI) in its
 * access log line, and a filter reads it as {@code connection.requested_server_name}; plain HTTP has none. curl
 * against a real gateway; lines read from {@code io.mesh.gateway.access}.
 */
class HttpsRequestedServerNameTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static int https;
    static int http;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        TlsTermination.dir = Files.createTempDirectory("https-sni-log");
        String[] a = TlsTermination.cert("a.example");
        String[] b = TlsTermination.cert("b.example");
        Backend web = MESH.backend("web");
        https = FreePorts.next();
        http = FreePorts.next();
        Listener tls = Xds.httpsListener("https", https, List.of(new String[] {"a.example", "kubernetes://a", "http.80"},
                new String[] {"b.example", "kubernetes://b", "http.80"}));
        // a.example's chain logs every request; b.example's under a filter on the SNI.
        Listener.Builder logged = tls.toBuilder().clearFilterChains();
        for (FilterChain c : tls.getFilterChainsList()) {
            String filter = c.getFilterChainMatch().getServerNames(0).equals("a.example") ? null
                    : "connection.requested_server_name == 'b.example'";
            HttpConnectionManager hcm = HttpResponseCodeDetailsTest.withAccessLog(filter);
            logged.addFilterChains(c.toBuilder().setFilters(0, c.getFilters(0).toBuilder().setTypedConfig(Any.pack(hcm))));
        }
        MESH.pilot().set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(logged.build(), HttpResponseCodeDetailsTest.httpListener("http", http,
                        HttpResponseCodeDetailsTest.withAccessLog(null))),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))),
                List.of(Xds.secret("kubernetes://a", a[0], a[1]), Xds.secret("kubernetes://b", b[0], b[1])));
        MESH.startGateway(Map.of());
    }

    @AfterAll
    static void stop() {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
    }

    static String curl(String url, String host, int port, String id) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "-k", "-o", "/dev/null", "-w", "%{http_code}",
                "-H", "x-request-id: " + id));
        if (host != null) {
            cmd.addAll(List.of("--resolve", host + ":" + port + ":127.0.0.1"));
        }
        cmd.add(url);
        return Run.run(cmd, null);
    }

    static String line(String id) {
        String of = "\"request_id\":\"" + id + "\"";
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> CAPTURE.lines.stream().anyMatch(l -> l.contains(of)));
        return CAPTURE.lines.stream().filter(l -> l.contains(of)).findFirst().orElseThrow();
    }

    @Test
    void anHttpsRequestsLineHasTheSniAndAPlainOneHasNone() throws Exception {
        assertEquals("200", curl("https://a.example:" + https + "/x", "a.example", https, "sni-a"));
        assertTrue(line("sni-a").contains("\"requested_server_name\":\"a.example\""), line("sni-a"));
        assertEquals("200", curl("http://127.0.0.1:" + http + "/x", null, http, "plain"));
        assertTrue(line("plain").contains("\"requested_server_name\":null"), line("plain"));
    }

    @Test
    void aFilterReadsTheRequestedServerName() throws Exception {
        assertEquals("200", curl("https://b.example:" + https + "/x", "b.example", https, "sni-b"));
        assertTrue(line("sni-b").contains("\"requested_server_name\":\"b.example\""), line("sni-b"));
    }
}
