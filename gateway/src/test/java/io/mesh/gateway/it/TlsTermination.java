package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.mesh.testing.FreePorts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * HTTPS termination with certificates from SDS: SNI picks the filter chain's certificate, ALPN offers h2
 * and http/1.1, TLS below 1.2 is refused, a rotated secret is served without a restart, and Istio's
 * httpsRedirect (require_tls) answers plain HTTP with a 301. Clients: openssl s_client and curl. Run once per
 * TLS engine ({@code mesh.gateway.tls-engine}): {@link TlsTest} with the default (BoringSSL), {@link TlsJdkEngineTest}
 * with the JDK's.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TlsTermination {

    /** Per instance, not a static extension: TlsTest and TlsJdkEngineTest each start their own. */
    final RouterFixture mesh = new RouterFixture();
    Backend web;
    ControlPlane pilot;
    TestGateway gw;
    int https;
    int http;
    static Path dir;

    /** The gateway's settings for this engine (none: the default). */
    abstract Map<String, String> engineSettings();

    /** What {@code DataPlane.tlsEngineName()} starts with for this engine. */
    abstract String expectedEngine();

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("gateway-tls");
        web = mesh.backend("web");
        pilot = mesh.pilot();
        https = FreePorts.next();
        http = FreePorts.next();
        publish(cert("a.example"), cert("b.example"));
        gw = mesh.startGateway(engineSettings());
    }

    @AfterAll
    void stop() throws Exception {
        mesh.close();
    }

    /** A self-signed EC certificate for {@code host}, made by openssl; returns {cert, key} PEM. */
    static String[] cert(String host) throws Exception {
        Path key = dir.resolve(host + ".key");
        Path crt = dir.resolve(host + ".crt");
        Run.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", crt.toString(), "-days", "1", "-subj", "/CN=" + host,
                "-addext", "subjectAltName=DNS:" + host), null);
        return new String[] {Files.readString(crt), Files.readString(key)};
    }

    void publish(String[] a, String[] b) {
        VirtualHost secure = Xds.vhost("secure", List.of("*"), Xds.prefixTo("/", "web"));
        VirtualHost redirect = secure.toBuilder().setName("redirect")
                .setRequireTls(VirtualHost.TlsRequirementType.ALL).build();
        // What pilot writes for an httpsRedirect server's host that no VirtualService routes: no routes at all.
        VirtualHost redirectOnly = VirtualHost.newBuilder().setName("legacy.example:80").addDomains("legacy.example")
                .setRequireTls(VirtualHost.TlsRequirementType.ALL).build();
        List<Secret> secrets = List.of(Xds.secret("cert-a", a[0], a[1]), Xds.secret("cert-b", b[0], b[1]));
        pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(Xds.httpsListener("0.0.0.0_443", https, List.of(new String[] {"a.example", "cert-a", "https.443"},
                        new String[] {"b.example", "cert-b", "https.443"})),
                        Xds.httpListener("0.0.0.0_80", http, "http.80")),
                List.of(Xds.routes("https.443", secure), Xds.routes("http.80", redirectOnly, redirect)), secrets);
    }

    String sClient(String sni, String... extra) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + https,
                "-servername", sni, "-alpn", "h2,http/1.1"));
        cmd.addAll(List.of(extra));
        return Run.run(cmd, "");
    }

    @Test
    void theConfiguredEngineTerminatesTls() {
        assertTrue(gw.gateway.dataPlane().tlsEngineName().startsWith(expectedEngine()), gw.gateway.dataPlane().tlsEngineName());
    }

    @Test
    void sniPicksTheCertificateOfTheMatchingFilterChainAndAlpnNegotiatesH2() throws Exception {
        String a = sClient("a.example");
        assertTrue(a.contains("subject=CN=a.example") || a.contains("subject=CN = a.example"), a);
        assertTrue(a.contains("ALPN protocol: h2"), a);
        String b = sClient("b.example");
        assertTrue(b.contains("subject=CN=b.example") || b.contains("subject=CN = b.example"), b);
        String out = Run.run(List.of("curl", "-s", "-m", "10", "-k", "--resolve", "b.example:" + https + ":127.0.0.1",
                "-w", " %{http_version} %{http_code}", "https://b.example:" + https + "/"), null);
        assertEquals("web 2 200", out);
        String h1 = Run.run(List.of("curl", "-s", "-m", "10", "-k", "--http1.1", "--resolve", "a.example:" + https + ":127.0.0.1",
                "-w", " %{http_version} %{http_code}", "https://a.example:" + https + "/"), null);
        assertEquals("web 1.1 200", h1);
    }

    @Test
    void tlsBelow12IsRefused() throws Exception {
        String old = sClient("a.example", "-tls1_1");
        assertFalse(old.contains("BEGIN CERTIFICATE") || old.contains("Server certificate"), old);
        String v12 = sClient("a.example", "-tls1_2");
        assertTrue(v12.contains("Protocol  : TLSv1.2") || v12.contains("TLSv1.2"), v12);
    }

    @Test
    void aRotatedSdsSecretIsServedWithoutRestart() throws Exception {
        String[] a2 = cert("a2.example");
        publish(a2, cert("b.example"));
        await().atMost(Duration.ofSeconds(10)).until(() -> sClient("a.example").contains("a2.example"));
        publish(cert("a.example"), cert("b.example"));
        await().atMost(Duration.ofSeconds(10)).until(() -> sClient("a.example").contains("CN=a.example")
                || sClient("a.example").contains("CN = a.example"));
    }

    @Test
    void httpsRedirectAnswersPlainHttpWith301() throws Exception {
        String out = Run.run(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                "-H", "Host: shop.example", "http://127.0.0.1:" + http + "/cart?x=1"), null);
        assertEquals("301 https://shop.example/cart?x=1", out);
        // A virtual host with require_tls and no routes redirects too (Envoy checks require_tls before the routes).
        String legacy = Run.run(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                "-H", "Host: legacy.example", "http://127.0.0.1:" + http + "/old/page"), null);
        assertEquals("301 https://legacy.example/old/page", legacy);
    }
}
