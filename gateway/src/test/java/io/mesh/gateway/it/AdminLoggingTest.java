package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The admin port's /logging, as Envoy's (what istioctl proxy-config log and meshctl drive): GET lists the loggers,
 * POST changes them, and a changed level takes effect at once: at debug, the xDS client ({@code config}) logs each
 * ACK. The gateway starts with {@code mesh.gateway.component-log-level} (istio-agent's --proxyComponentLogLevel).
 */
class AdminLoggingTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static ControlPlane pilot;
    static TestGateway gw;
    static Backend web;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        web = MESH.backend("web");
        pilot = MESH.pilot();
        port = io.mesh.testing.FreePorts.next();
        publish();
        gw = MESH.startGateway(Map.of("mesh.gateway.component-log-level", "router:error,jwt:warning"));
    }

    /** Each test starts from the levels the gateway started with. */
    @AfterEach
    void restore() throws Exception {
        post("level=info&paths=router:error,jwt:warning");
    }

    /** Loggers are the JVM's: every one back at info for the other tests in this JVM. */
    @AfterAll
    static void allAtInfo() throws Exception {
        post("level=info");
    }

    static String publish() {
        return pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
    }

    /** The gateway ACKed this version (of every type it asks for, LDS here: the last one pushed). */
    static boolean acked(String version) {
        return pilot.requests.stream().anyMatch(r -> r.getVersionInfo().equals(version) && !r.hasErrorDetail()
                && r.getTypeUrl().endsWith("Listener"));
    }

    static String admin(String... curl) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("curl", "-s", "-m", "5", "-w", " %{http_code}"));
        command.addAll(List.of(curl));
        return Run.run(command, null);
    }

    static String post(String query) throws Exception {
        return admin("-X", "POST", "http://127.0.0.1:" + gw.gateway.adminPort() + "/logging?" + query);
    }

    static String get() throws Exception {
        return admin("http://127.0.0.1:" + gw.gateway.adminPort() + "/logging");
    }

    @Test
    void theStartupComponentLevelsAreListedWithTheOthersAtTheConfiguredDefault() throws Exception {
        String listing = get();
        assertTrue(listing.startsWith("active loggers:\n  admin: info\n"), listing);
        assertTrue(listing.contains("\n  router: error\n") && listing.contains("\n  jwt: warning\n"), listing);
        assertTrue(listing.contains("\n  config: info\n") && listing.endsWith("\n  upstream: info\n 200"), listing);
    }

    @Test
    void aLevelSetOverPostTakesEffectAtOnce() throws Exception {
        AccessLogCapture records = new AccessLogCapture();
        Logger xds = Logger.getLogger("io.mesh.gateway.xds");
        xds.addHandler(records);
        try {
            String quiet = publish();
            await().atMost(Duration.ofSeconds(10)).until(() -> acked(quiet));
            assertTrue(records.lines.stream().noneMatch(l -> l.startsWith("xDS ACK")), "info: no ACK lines " + records.lines);

            String changed = post("config=debug");
            assertTrue(changed.contains("\n  config: debug\n") && changed.contains("\n  http: info\n") && changed.endsWith(" 200"),
                    changed);
            String version = publish();
            await().atMost(Duration.ofSeconds(10)).until(() -> records.lines.stream().anyMatch(l -> l.startsWith("xDS ACK")));
            await().atMost(Duration.ofSeconds(10)).until(() -> acked(version));
        } finally {
            xds.removeHandler(records);
        }
    }

    @Test
    void levelSetsEveryLoggerAndPathsSetsSome() throws Exception {
        String all = post("level=warning");
        assertTrue(all.lines().skip(1).filter(l -> l.startsWith("  ")).allMatch(l -> l.endsWith(": warning")), all);
        String some = post("paths=router:trace,secret:critical");
        assertTrue(some.contains("\n  router: trace\n") && some.contains("\n  secret: critical\n")
                && some.contains("\n  http: warning\n"), some);
    }

    @Test
    void aWrongNameOrLevelChangesNothingAndSaysWhatThereIs() throws Exception {
        String before = get();
        assertEquals("unknown logger 'routr'; the loggers are admin, agent, capture, config, http, jwt, main, rbac, router,"
                + " secret, tls, upstream\n 400", post("paths=config:debug,routr:debug"));
        assertEquals("unknown level 'loud'; the levels are trace, debug, info, warning, error, critical, off\n 400",
                post("level=loud"));
        assertEquals("changing log levels needs POST\n 405", admin("http://127.0.0.1:" + gw.gateway.adminPort()
                + "/logging?level=debug"));
        assertEquals(before, get());
    }
}
