package io.mesh.e2e.sidecar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.mesh.e2e.Component;
import io.mesh.e2e.ManagedProcess;
import io.mesh.e2e.ProcessHarness;
import io.mesh.e2e.RunningComponent;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Sidecar mode in a real pod-like network: two "pods" in namespace {@code default}, each a network namespace
 * holding an app and the packaged gateway as its sidecar (uid 1337), with capture rules installed by the
 * sidecar's own {@code gateway init-iptables}. pilot and citadel run on the node (the host side of the
 * bridge). App A's plain curl to {@code b.default.svc.cluster.local:8080} (a service VIP that exists only in
 * pilot's registry) is captured by A's sidecar, routed to B over mutual TLS with citadel certificates, captured
 * again by B's sidecar and handed to app B in plaintext on 127.0.0.1.
 *
 * <p>Needs root (ip netns, iptables). CI runs as root and sets {@code MESH_REQUIRE_ROOT_TESTS=1}, which turns a
 * skip into a failure.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SidecarMeshIT {

    private static final String A_IP = "198.51.100.11";
    private static final String B_IP = "198.51.100.12";
    private static final String B_VIP = "198.51.100.100";
    private static final String B_HOST = "b.default.svc.cluster.local";
    /** A TCP service (protocol TCP, not HTTP) served by pod B on 7000, at its own VIP. */
    private static final String DB_VIP = "198.51.100.102";
    private static final int DB_PORT = 7000;
    /** Service b's second port: gRPC (protocol GRPC), served by a grpc-java app in pod B. */
    private static final int GRPC_PORT = 9090;
    /** A second gRPC service in pod B ({@code b-v2}, port 9091) that b's VirtualService can send calls to. */
    private static final String B_V2_HOST = "b-v2.default.svc.cluster.local";
    private static final String B_V2_VIP = "198.51.100.105";
    private static final int GRPC_V2_PORT = 9091;
    /**
     * Two TCP services served by pod B, each app naming itself on connect: {@code ledger} (its VirtualService splits
     * it by weight between the two) and {@code ledger-v2}.
     */
    private static final String LEDGER_HOST = "ledger.default.svc.cluster.local";
    private static final String LEDGER_VIP = "198.51.100.103";
    private static final int LEDGER_PORT = 7100;
    private static final String LEDGER_V2_HOST = "ledger-v2.default.svc.cluster.local";
    private static final String LEDGER_V2_VIP = "198.51.100.104";
    private static final int LEDGER_V2_PORT = 7200;
    /** Service b's WebSocket port (protocol HTTP), served by a Vert.x app in pod B. */
    private static final int WS_PORT = 8090;
    private static final int PROXY_UID = 1337;
    /** Each sidecar's cap on open downstream connections (captured HTTP connections). */
    private static final int MAX_CONNECTIONS = 64;

    @RegisterExtension
    static final ProcessHarness HARNESS = new ProcessHarness().named("sidecar-mesh").keepBetweenTests();

    private static PodNetwork network;
    private static String podA;
    private static String podB;
    private static Path configDir;
    private static RunningComponent citadel;
    private static String natBeforeA;

    @BeforeAll
    static void startMesh() throws Exception {
        if (!PodNetwork.root()) {
            if ("1".equals(System.getenv("MESH_REQUIRE_ROOT_TESTS"))) {
                fail("MESH_REQUIRE_ROOT_TESTS=1 but this user is not root: the sidecar tests need ip netns and iptables");
            }
            Assumptions.abort("skipped: the sidecar tests need root for ip netns and iptables (run as root, as CI does)");
        }
        network = new PodNetwork();
        network.create();
        String dns = PodNetwork.NODE_IP + " citadel.istio-system.svc pilot.istio-system.svc\n"
                + B_VIP + " " + B_HOST + "\n198.51.100.101 a.default.svc.cluster.local\n"
                + LEDGER_VIP + " " + LEDGER_HOST + "\n" + LEDGER_V2_VIP + " " + LEDGER_V2_HOST + "\n";
        podA = network.addPod("a", A_IP, dns);
        podB = network.addPod("b", B_IP, dns);

        Path work = HARNESS.workDir();
        configDir = Files.createDirectories(work.resolve("config"));
        try (var old = Files.list(configDir)) {
            for (Path p : old.toList()) {
                Files.delete(p);
            }
        }
        Files.writeString(configDir.resolve("services.yaml"), service("a", A_IP, "198.51.100.101")
                + "---\n" + serviceEntry("b", B_IP, B_VIP, "b", port(8080, "HTTP", "http"), port(GRPC_PORT, "GRPC", "grpc"),
                        port(WS_PORT, "HTTP", "http-ws"))
                + "---\n" + serviceEntry("b-v2", B_IP, B_V2_VIP, "b", port(GRPC_V2_PORT, "GRPC", "grpc"))
                + "---\n" + tcpService("db", B_IP, DB_VIP, DB_PORT, "b")
                + "---\n" + tcpService("ledger", B_IP, LEDGER_VIP, LEDGER_PORT, "b")
                + "---\n" + tcpService("ledger-v2", B_IP, LEDGER_V2_VIP, LEDGER_V2_PORT, "b"));

        // Identities: a bootstrap token per workload, readable by the sidecar's uid only.
        Path tokens = Files.createDirectories(work.resolve("tokens"));
        Path tokenFile = tokens.resolve("bootstrap-tokens");
        String tokenA = Long.toHexString(Double.doubleToLongBits(Math.random())) + "a";
        String tokenB = Long.toHexString(Double.doubleToLongBits(Math.random())) + "b";
        Files.writeString(tokenFile, tokenA + " default/a\n" + tokenB + " default/b\n");
        // Short certificates, so rotation happens during the test (citadel's floor is lowered for it).
        citadel = HARNESS.start(Component.CITADEL, Map.of("MESH_CITADEL_GRPC_HOST", PodNetwork.NODE_IP,
                "MESH_CITADEL_BOOTSTRAP_TOKEN_FILE", tokenFile.toString(),
                "MESH_CITADEL_TTL_MIN", "1m", "MESH_CITADEL_TTL_DEFAULT_TTL", "2m"));
        RunningComponent pilot = HARNESS.start(Component.PILOT, Map.of("MESH_PILOT_XDS_HOST", PodNetwork.NODE_IP,
                "MESH_PILOT_CONFIG_DIR", configDir.toString()));
        // The root as a pod sees it: a copy readable by the sidecar (Kubernetes mounts ConfigMap istio-ca-root-cert).
        Path root = Files.copy(Path.of(citadel.env().get("MESH_CITADEL_STATE_DIR"), "root-cert.pem"),
                tokens.resolve("root-cert.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rw-r--r--"));
        String ca = "citadel.istio-system.svc:" + citadel.env().get("MESH_CITADEL_GRPC_PORT");
        String xds = "pilot.istio-system.svc:" + pilot.env().get("MESH_PILOT_XDS_PORT");

        // The app in B: the demo echo server on 127.0.0.1:8080, as a container next to the sidecar would be.
        HARNESS.startProcess("app-b", concat(PodNetwork.inPod(podB, null), List.of(java(), "-Xmx64m",
                HARNESS.projectRoot().resolve("deploy/local/demo/EchoServer.java").toString(), "b", "8080")),
                Map.of(), HARNESS.projectRoot());

        // The same app on a port no service declares: reached by TCP passthrough on both sides.
        HARNESS.startProcess("app-b-9000", concat(PodNetwork.inPod(podB, null), List.of(java(), "-Xmx64m",
                HARNESS.projectRoot().resolve("deploy/local/demo/EchoServer.java").toString(), "b-undeclared", "9000")),
                Map.of(), HARNESS.projectRoot());

        // A TCP app in B: the mesh sees its port as TCP, so neither sidecar parses what goes through.
        HARNESS.startProcess("app-b-db", concat(PodNetwork.inPod(podB, null), List.of(java(), "-Xmx64m",
                HARNESS.projectRoot().resolve("deploy/local/demo/EchoServer.java").toString(), "b-db", Integer.toString(DB_PORT))),
                Map.of(), HARNESS.projectRoot());

        // A gRPC app in B on the service's GRPC port (its sidecar reaches it over h2c), and two TCP apps that name
        // themselves, one per ledger service: the JVMs start while the sidecars do.
        ManagedProcess grpcB = HARNESS.startProcess("app-b-grpc", concat(PodNetwork.inPod(podB, null), List.of(java(),
                "-Xmx64m", "-cp", System.getProperty("java.class.path"), GrpcPodApp.class.getName(), "server", "b",
                Integer.toString(GRPC_PORT), "b-v2", Integer.toString(GRPC_V2_PORT))), Map.of(), HARNESS.projectRoot());
        ManagedProcess ledgers = HARNESS.startProcess("app-b-ledgers", concat(PodNetwork.inPod(podB, null), List.of(java(),
                "-Xmx32m", "-cp", System.getProperty("java.class.path"), NamedTcpServer.class.getName(),
                "ledger-v1", Integer.toString(LEDGER_PORT), "ledger-v2", Integer.toString(LEDGER_V2_PORT))),
                Map.of(), HARNESS.projectRoot());

        ManagedProcess wsB = HARNESS.startProcess("app-b-ws", concat(PodNetwork.inPod(podB, null), List.of(java(),
                "-Xmx32m", "-cp", System.getProperty("java.class.path"), WebSocketPodApp.class.getName(), "server", "b-ws",
                Integer.toString(WS_PORT))), Map.of(), HARNESS.projectRoot());

        natBeforeA = PodNetwork.nat(podA);
        for (String pod : List.of(podA, podB)) {
            assertEquals(0, initIptables(pod), "init-iptables in " + pod);
        }
        startSidecar("a", podA, A_IP, tokenA, tokens, root, ca, xds);
        startSidecar("b", podB, B_IP, tokenB, tokens, root, ca, xds);
        awaitLog(grpcB, "listening on " + GRPC_V2_PORT);
        awaitLog(ledgers, "listening on " + LEDGER_V2_PORT);
        awaitLog(wsB, "listening on " + WS_PORT);
    }

    @AfterAll
    static void removePods() {
        HARNESS.stopAll();
        if (network != null) {
            network.close();
        }
    }

    @Test
    @Order(1)
    void appAReachesAppBThroughBothSidecarsOverMutualTls() throws Exception {
        Result r = curlFromA("/hello");
        assertEquals(200, r.status(), r.body());
        // App B answered, and saw a plain HTTP request addressed to the service name.
        assertTrue(r.body().contains("\"served_by\":\"b\"") && r.body().contains("\"host\":\"" + B_HOST + ":8080\""), r.body());

        // B's sidecar reports the request as the destination, over mutual TLS, from A's SPIFFE identity.
        String metricsB = metrics(B_IP);
        assertTrue(has(metricsB, "istio_requests_total", "reporter=\"destination\"",
                "connection_security_policy=\"mutual_tls\"", "source_principal=\"spiffe://cluster.local/ns/default/sa/a\"",
                "destination_principal=\"spiffe://cluster.local/ns/default/sa/b\"", "response_code=\"200\"",
                "destination_canonical_service=\"b\"", "destination_canonical_revision=\"v1\"",
                "destination_service=\"" + B_HOST + "\""), metricsB);
        // Istio's metadata exchange: each side names the other's workload (A's request told B, B's response told A).
        assertTrue(has(metricsB, "istio_requests_total", "reporter=\"destination\"", "source_workload=\"a\"",
                "source_workload_namespace=\"default\"", "source_canonical_service=\"a\"",
                "source_canonical_revision=\"v1\""), metricsB);
        // A's sidecar reports it as the source, to service b, workload b.
        String metricsA = metrics(A_IP);
        assertTrue(has(metricsA, "istio_requests_total", "reporter=\"source\"",
                "destination_service=\"" + B_HOST + "\"", "response_code=\"200\"",
                "source_canonical_service=\"a\"", "source_canonical_revision=\"v1\"", "destination_workload=\"b\"",
                "destination_workload_namespace=\"default\"", "destination_canonical_service=\"b\"",
                "destination_canonical_revision=\"v1\"", "destination_principal=\"spiffe://cluster.local/ns/default/sa/b\""),
                metricsA);
        // Both sidecars served it on their fast path (plain HTTP/1.1; A originated the mTLS, B terminated it).
        assertTrue(adminStat(podA, "http.fast_path.downstream_rq_total") >= 1, "A's fast path took the request");
        assertTrue(adminStat(podB, "http.fast_path.downstream_rq_total") >= 1, "B's fast path took the request");
        // A sidecar's config dump prints every resource it holds (listeners with RBAC, tcp_proxy, original_dst...).
        for (String pod : List.of(podA, podB)) {
            Result dump = curl(PodNetwork.inPod(pod, null), List.of("http://127.0.0.1:15000/config_dump"));
            assertEquals(200, dump.status(), dump.body());
            assertTrue(dump.body().contains("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"), dump.body());
        }
    }

    /** The namespace's Sidecar resource that turns outbound traffic to REGISTRY_ONLY (written as sidecar.yaml). */
    private static final String REGISTRY_ONLY = """
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata:
              name: default
              namespace: default
            spec:
              outboundTrafficPolicy:
                mode: REGISTRY_ONLY
            """;

    @Test
    @Order(2)
    void unknownDestinationsPassThroughUnderAllowAnyAndGet502UnderRegistryOnly() throws Exception {
        // TCP to a port with no HTTP listener goes by original destination, untouched (B's app on 9000).
        Result tcp = curl(PodNetwork.inPod(podA, null), List.of("http://" + B_IP + ":9000/tcp"));
        assertEquals(200, tcp.status(), tcp.body());
        assertTrue(tcp.body().contains("\"served_by\":\"b-undeclared\""), tcp.body());
        // An HTTP host the registry does not know, on a mesh HTTP port: ALLOW_ANY passes it through.
        Result unknown = curl(PodNetwork.inPod(podA, null), List.of("--resolve", "unknown.example:8080:" + B_IP,
                "http://unknown.example:8080/allow-any"));
        assertEquals(200, unknown.status(), unknown.body());

        write("sidecar.yaml", REGISTRY_ONLY);
        eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null), List.of("--resolve",
                "unknown.example:8080:" + B_IP, "http://unknown.example:8080/registry-only")).status() == 502,
                "REGISTRY_ONLY answers 502 for a host outside the registry");
        assertEquals(200, curlFromA("/registered").status(), "registered services still work under REGISTRY_ONLY");
        Files.delete(configDir.resolve("sidecar.yaml"));
        eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null), List.of("--resolve",
                "unknown.example:8080:" + B_IP, "http://unknown.example:8080/allow-any-again")).status() == 200,
                "back to ALLOW_ANY");
    }

    @Test
    @Order(3)
    void aServiceEntryOpensAnExternalTlsHostBySniUnderRegistryOnlyAndOtherNamesAreDropped() throws Exception {
        // An external HTTPS API on the node (openssl's own TLS server, answering GET with its status page), declared
        // by a ServiceEntry without an address, as Istio's egress tasks do. The app's TLS goes through A's sidecar
        // untouched; the ClientHello's SNI picks the route.
        Path dir = Files.createDirectories(HARNESS.workDir().resolve("external"));
        Path crt = dir.resolve("external.crt");
        Path key = dir.resolve("external.key");
        Process gen = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", crt.toString(), "-days", "1",
                "-subj", "/CN=api.external.test", "-addext", "subjectAltName=DNS:api.external.test,DNS:other.external.test")
                .redirectErrorStream(true).start();
        gen.getInputStream().readAllBytes();
        assertEquals(0, gen.waitFor());
        int port = 9443;
        ManagedProcess server = HARNESS.startProcess("external-tls", List.of("openssl", "s_server", "-accept",
                PodNetwork.NODE_IP + ":" + port, "-cert", crt.toString(), "-key", key.toString(), "-www"), Map.of(),
                HARNESS.projectRoot());
        List<String> api = List.of("--cacert", crt.toString(), "--resolve", "api.external.test:" + port + ":"
                + PodNetwork.NODE_IP, "https://api.external.test:" + port + "/");
        List<String> other = List.of("--cacert", crt.toString(), "--resolve", "other.external.test:" + port + ":"
                + PodNetwork.NODE_IP, "https://other.external.test:" + port + "/");
        try {
            eventually(Duration.ofSeconds(10), () -> curl(List.of(), api).status() == 200, "the external server is up");
            write("external.yaml", """
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata:
                      name: external-api
                      namespace: default
                    spec:
                      hosts: [api.external.test]
                      location: MESH_EXTERNAL
                      ports:
                      - {number: %d, name: tls, protocol: TLS}
                      resolution: STATIC
                      endpoints:
                      - address: %s
                    """.formatted(port, PodNetwork.NODE_IP));
            write("sidecar.yaml", REGISTRY_ONLY);
            // The declared name reaches the server through A's sidecar (its SNI chain: there is no passthrough now) ...
            eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null), other).status() == 0,
                    "REGISTRY_ONLY drops TLS to a name no ServiceEntry declares");
            eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null), api).status() == 200,
                    "the ServiceEntry's host is reachable under REGISTRY_ONLY");
            Result ok = curl(PodNetwork.inPod(podA, null), api);
            assertEquals(200, ok.status(), ok.body());
            assertTrue(ok.body().contains("s_server"), "openssl's status page: " + ok.body());
            // ... and A's sidecar counted the connection for the ServiceEntry's host (its TCP metrics).
            eventually(Duration.ofSeconds(10), () -> metrics(A_IP).lines().anyMatch(l ->
                    l.startsWith("istio_tcp_connections_opened_total{") && l.contains("destination_service=\"api.external.test\"")
                            && l.contains("reporter=\"source\"")), "A's sidecar reports the connection to api.external.test");
            // Back to ALLOW_ANY: any name passes through again.
            Files.delete(configDir.resolve("sidecar.yaml"));
            Files.delete(configDir.resolve("external.yaml"));
            eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null), other).status() == 200,
                    "ALLOW_ANY again: an undeclared TLS name passes through");
        } finally {
            Files.deleteIfExists(configDir.resolve("sidecar.yaml"));
            Files.deleteIfExists(configDir.resolve("external.yaml"));
            server.stop(Duration.ofSeconds(5));
        }
    }

    @Test
    @Order(4)
    void aHalfCloseFromTheAppIsPassedOnThroughBothSidecarsAndTheAnswerStillComesBack() throws Exception {
        // App A writes a line to B's pod IP on the ledger port, then shuts down its output at once (FIN). Both sidecars
        // relay plaintext here (A: passthrough; B: its inbound plaintext chain), so the FIN is passed on as a half-close,
        // as Envoy's tcp_proxy does: B's app reads the line, then EOF, and its answers (the last one written only once
        // it read EOF) still reach A.
        Process p = new ProcessBuilder(concat(PodNetwork.inPod(podA, null), List.of(java(), "-Xmx32m", "-cp",
                System.getProperty("java.class.path"), HalfCloseClient.class.getName(), B_IP,
                Integer.toString(LEDGER_PORT), "half-closed"))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the client did not finish");
        assertEquals("ledger-v1\nledger-v1 half-closed\nledger-v1 eof\n", out,
                "the greeting, the answer to the line, and the line B's app wrote once it read A's FIN");

        // The same to the ledger service's VIP: A's sidecar originates auto mTLS to B's, which terminates it. A's FIN
        // crosses the mTLS hop as a TLS 1.3 close_notify and is a FIN again at B's app; the answer still comes back.
        double mtlsBefore = value(metrics(B_IP), "istio_tcp_connections_opened_total", "reporter=\"destination\"",
                "connection_security_policy=\"mutual_tls\"");
        Process viaMtls = new ProcessBuilder(concat(PodNetwork.inPod(podA, null), List.of(java(), "-Xmx32m", "-cp",
                System.getProperty("java.class.path"), HalfCloseClient.class.getName(), LEDGER_VIP,
                Integer.toString(LEDGER_PORT), "half-closed-over-mtls"))).redirectErrorStream(true).start();
        String overMtls = new String(viaMtls.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(viaMtls.waitFor(60, TimeUnit.SECONDS), "the client did not finish");
        assertEquals("ledger-v1\nledger-v1 half-closed-over-mtls\nledger-v1 eof\n", overMtls,
                "the answers, the last written after B's app read A's FIN, over mTLS");
        eventually(Duration.ofSeconds(10), () -> value(metrics(B_IP), "istio_tcp_connections_opened_total",
                "reporter=\"destination\"", "connection_security_policy=\"mutual_tls\"") > mtlsBefore,
                "B's sidecar took the connection over mutual TLS");
    }

    @Test
    @Order(5)
    void capturedConnectionsGiveTheirSlotUnderTheConnectionCapBackWhenTheyClose() throws Exception {
        // The sidecars run with a cap of MAX_CONNECTIONS open downstream connections. Three times as many connections,
        // one after the other (a curl each), must all be served, and once they are closed none is counted any more.
        int n = 3 * MAX_CONNECTIONS;
        Process p = new ProcessBuilder(concat(PodNetwork.inPod(podA, null), List.of("bash", "-c", "for i in $(seq " + n
                + "); do curl -s -o /dev/null --max-time 5 -w '%{http_code}\\n' http://" + B_HOST + ":8080/conn$i; done")))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the connections did not finish");
        List<String> codes = out.lines().map(String::strip).filter(c -> !c.isEmpty()).toList();
        assertEquals(n, codes.size(), out);
        assertEquals(List.of(), codes.stream().filter(c -> !c.equals("200")).toList(), "every connection was served");
        eventually(Duration.ofSeconds(10), () -> adminStat(podA, "server.total_connections") == 0,
                "A's sidecar counts no open downstream connection once its app's connections are closed");
    }

    @Test
    @Order(6)
    void waitReturnsOnceTheProxyIsReadyAndTimesOutOtherwise() throws Exception {
        assertEquals(0, runGateway(podA, List.of("wait", "--url=http://127.0.0.1:15021/healthz/ready", "--timeout=10s")));
        assertEquals(1, runGateway(podA, List.of("wait", "--url=http://127.0.0.1:1/healthz/ready", "--timeout=1s")));
        assertEquals(2, runGateway(podA, List.of("wait", "--timeout=soon")));
    }

    @Test
    @Order(7)
    void aCapturedConnectionThatSendsNothingIsClosedAfterTheHeaderTimeout() throws Exception {
        try (java.net.Socket silent = new java.net.Socket()) {
            silent.connect(new java.net.InetSocketAddress(B_IP, 8080), 5000);
            silent.setSoTimeout(15_000);
            long start = System.nanoTime();
            int read;
            try {
                read = silent.getInputStream().read();
            } catch (java.net.SocketException reset) {
                read = -1;
            }
            long waitedMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(-1, read, "B's sidecar closes a client that never sends a byte");
            assertTrue(waitedMs >= 2_000, "not before the 3 s request-header timeout: " + waitedMs + " ms");
        }
    }

    @Test
    @Order(8)
    void strictRefusesPlaintextFromOutsideTheMeshAndPermissiveAcceptsIt() throws Exception {
        // Default (PERMISSIVE): a client outside the mesh (the node) reaches B in plaintext.
        assertEquals(200, curlFromNode("/outside").status());

        write("peer-authentication.yaml", peerAuthentication("STRICT"));
        eventually(Duration.ofSeconds(30), () -> curlFromNode("/outside").status() == 0, "STRICT refuses plaintext");
        assertEquals(200, curlFromA("/still-meshed").status(), "mesh traffic goes on under STRICT");

        write("peer-authentication.yaml", peerAuthentication("PERMISSIVE"));
        eventually(Duration.ofSeconds(30), () -> curlFromNode("/outside").status() == 200, "PERMISSIVE accepts plaintext");
        assertTrue(has(metrics(B_IP), "istio_requests_total", "reporter=\"destination\"",
                "connection_security_policy=\"none\""), "plaintext is reported as such");
        Files.delete(configDir.resolve("peer-authentication.yaml"));
    }

    @Test
    @Order(9)
    void tcpToAMeshServiceIsOriginatedAsMutualTlsStrictRefusesPlaintextTcpAndAuthorizationPolicyApplies() throws Exception {
        // A connects to the TCP service's VIP; A's sidecar proxies it to B's endpoint with auto mTLS, B's sidecar
        // terminates it and hands the bytes to the app on 127.0.0.1 (the client happens to speak HTTP: the mesh does not look).
        Result viaMesh = curl(PodNetwork.inPod(podA, null), List.of("http://" + DB_VIP + ":" + DB_PORT + "/tcp-mesh"));
        assertEquals(200, viaMesh.status(), viaMesh.body());
        assertTrue(viaMesh.body().contains("\"served_by\":\"b-db\""), viaMesh.body());
        // Istio's TCP metrics from both sides: B's inbound over mutual TLS from A's identity, to service db (named by
        // the inbound cluster's telemetry metadata), A's outbound to the service.
        String metricsB = metrics(B_IP);
        assertTrue(value(metricsB, "istio_tcp_connections_opened_total", "reporter=\"destination\"", "request_protocol=\"tcp\"",
                "connection_security_policy=\"mutual_tls\"", "source_principal=\"spiffe://cluster.local/ns/default/sa/a\"",
                "destination_service=\"db.default.svc.cluster.local\"") >= 1, metricsB);
        assertTrue(counter(metricsB, "istio_tcp_received_bytes_total") > 0, metricsB);
        // Istio's metadata exchange over TCP (ALPN istio-peer-exchange): B names A's workload, A names B's.
        assertTrue(value(metricsB, "istio_tcp_connections_opened_total", "reporter=\"destination\"", "source_workload=\"a\"",
                "source_workload_namespace=\"default\"", "source_canonical_service=\"a\"", "source_canonical_revision=\"v1\"",
                "destination_workload=\"b\"") >= 1, metricsB);
        eventually(Duration.ofSeconds(10), () -> value(metrics(A_IP), "istio_tcp_connections_closed_total", "reporter=\"source\"",
                "destination_service=\"db.default.svc.cluster.local\"") >= 1, "A reports the closed TCP connection to service db");
        String metricsA = metrics(A_IP);
        assertTrue(value(metricsA, "istio_tcp_connections_opened_total", "reporter=\"source\"",
                "destination_service=\"db.default.svc.cluster.local\"", "source_workload=\"a\"", "destination_workload=\"b\"",
                "destination_workload_namespace=\"default\"", "destination_canonical_service=\"b\"",
                "destination_principal=\"spiffe://cluster.local/ns/default/sa/b\"") >= 1, metricsA);
        assertTrue(counter(metrics(A_IP), "istio_tcp_sent_bytes_total") > 0, "A counts the bytes it relayed back to app A");

        write("peer-authentication.yaml", peerAuthentication("STRICT"));
        // STRICT: plaintext TCP from outside the mesh is refused, so what still arrives from A came over mTLS.
        eventually(Duration.ofSeconds(30), () -> curl(List.of(), List.of("http://" + B_IP + ":" + DB_PORT + "/outside"))
                .status() == 0, "STRICT refuses plaintext TCP");
        for (int i = 0; i < 5; i++) {
            Result strict = curl(PodNetwork.inPod(podA, null), List.of("http://" + DB_VIP + ":" + DB_PORT + "/tcp-strict-" + i));
            assertEquals(200, strict.status(), strict.body());
            assertTrue(strict.body().contains("\"served_by\":\"b-db\""), strict.body());
        }
        Files.delete(configDir.resolve("peer-authentication.yaml"));
        eventually(Duration.ofSeconds(30), () -> curl(List.of(), List.of("http://" + B_IP + ":" + DB_PORT + "/outside"))
                .status() == 200, "PERMISSIVE again: plaintext TCP accepted");

        // AuthorizationPolicy on TCP: a DENY for namespace default on the TCP port closes A's connections (the peer's
        // SPIFFE ID names the namespace), and leaves B's HTTP port alone.
        write("deny-tcp.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-tcp
                  namespace: default
                spec:
                  action: DENY
                  rules:
                  - from:
                    - source:
                        namespaces: ["default"]
                    to:
                    - operation:
                        ports: ["%d"]
                """.formatted(DB_PORT));
        eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null),
                List.of("http://" + DB_VIP + ":" + DB_PORT + "/tcp-denied")).status() == 0, "DENY closes TCP from namespace default");
        assertEquals(200, curlFromA("/http-still-allowed").status(), "the HTTP port is not in the rule");
        Files.delete(configDir.resolve("deny-tcp.yaml"));
        eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null),
                List.of("http://" + DB_VIP + ":" + DB_PORT + "/tcp-allowed-again")).status() == 200, "no policy: TCP allowed again");
    }

    @Test
    @Order(10)
    void authorizationPolicyOnPathNamespacePrincipalMethodAndHeader() throws Exception {
        write("deny-admin.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-admin
                  namespace: default
                spec:
                  action: DENY
                  rules:
                  - to:
                    - operation:
                        paths: ["/admin*"]
                """);
        eventually(Duration.ofSeconds(30), () -> curlFromA("/admin/users").status() == 403, "DENY on /admin");
        Result denied = curlFromA("/admin/users");
        assertEquals("RBAC: access denied", denied.body().strip());
        assertEquals(200, curlFromA("/public").status(), "other paths stay allowed");

        write("allow-x.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: allow-x
                  namespace: default
                spec:
                  action: ALLOW
                  rules:
                  - from:
                    - source:
                        namespaces: ["x"]
                """);
        eventually(Duration.ofSeconds(30), () -> curlFromA("/public").status() == 403,
                "ALLOW only from namespace x refuses namespace default");

        // ALLOW by source principal and method; DENY on a request header.
        write("allow-x.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: allow-x
                  namespace: default
                spec:
                  action: ALLOW
                  rules:
                  - from:
                    - source:
                        principals: ["cluster.local/ns/default/sa/a"]
                    to:
                    - operation:
                        methods: ["GET"]
                """);
        write("deny-header.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-header
                  namespace: default
                spec:
                  action: DENY
                  rules:
                  - when:
                    - key: request.headers[x-block]
                      values: ["yes"]
                """);
        eventually(Duration.ofSeconds(30), () -> curlFromA("/public").status() == 200
                && curl(PodNetwork.inPod(podA, null), List.of("-H", "x-block: yes", "http://" + B_HOST + ":8080/public"))
                        .status() == 403, "ALLOW for principal a, DENY on header x-block");
        assertEquals(403, curl(PodNetwork.inPod(podA, null), List.of("-X", "POST", "http://" + B_HOST + ":8080/public"))
                .status(), "only GET is allowed");
        // What the policies allow, B's sidecar serves on its fast path (RBAC checked there); what they deny, the Vert.x
        // path answers with 403.
        long fastBefore = adminStat(podB, "http.fast_path.downstream_rq_total");
        assertEquals(200, curlFromA("/public").status());
        assertEquals(403, curl(PodNetwork.inPod(podA, null), List.of("-H", "x-block: yes", "http://" + B_HOST + ":8080/public"))
                .status());
        assertEquals(fastBefore + 1, adminStat(podB, "http.fast_path.downstream_rq_total"), "only the allowed request");
        Files.delete(configDir.resolve("deny-header.yaml"));
        Files.delete(configDir.resolve("allow-x.yaml"));
        Files.delete(configDir.resolve("deny-admin.yaml"));
        eventually(Duration.ofSeconds(30), () -> curlFromA("/public").status() == 200, "policies removed");
    }

    @Test
    @Order(11)
    void certificatesRotateThreeTimesUnderSteadyLoadWithoutAFailedRequest() throws Exception {
        long issuedBefore = counter(citadelMetrics(), "citadel_server_success_cert_issuance_count_total");
        // Steady load from app A: sequential curls through both sidecars for as long as three rotations take
        // (2-minute certificates renew at half-life), each printing its status code.
        ManagedProcess load = HARNESS.startProcess("load-a", concat(PodNetwork.inPod(podA, null), List.of("bash", "-c",
                "end=$((SECONDS+200)); while [ $SECONDS -lt $end ]; do curl -s -o /dev/null --max-time 5 -w '%{http_code}\\n' "
                        + "http://" + B_HOST + ":8080/load; sleep 0.1; done")),
                Map.of(), HARNESS.projectRoot());
        assertEquals(0, load.awaitExit(Duration.ofSeconds(260)));
        long issued = counter(citadelMetrics(), "citadel_server_success_cert_issuance_count_total") - issuedBefore;
        assertTrue(issued >= 6, "each sidecar renewed its certificate at least 3 times, got " + issued + " issuances");
        List<String> codes = Files.readAllLines(load.log()).stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        assertTrue(codes.size() > 500, "steady load ran: " + codes.size() + " requests");
        assertEquals(List.of(), codes.stream().filter(c -> !c.equals("200")).toList(), "no request failed during rotation");
    }

    @Test
    @Order(12)
    void grpcFromAppAToAppBGoesOverHttp2AndMutualTlsWithStreamsStatusAndTrailersIntact() throws Exception {
        // App A: grpc-java with a plain ManagedChannel to the service name, plaintext h2c as far as it knows. A's sidecar
        // routes it on the GRPC port's HTTP listener to outbound|9090||b (HTTP/2 over auto mTLS), B's sidecar terminates
        // the mTLS and hands it to app B over h2c (grpc-java's server speaks HTTP/2 only).
        String metricsBBefore = metrics(B_IP);
        String metricsABefore = metrics(A_IP);
        ManagedProcess client = HARNESS.startProcess("app-a-grpc-client", concat(PodNetwork.inPod(podA, null), List.of(java(),
                "-Xmx64m", "-cp", System.getProperty("java.class.path"), GrpcPodApp.class.getName(), "client",
                B_HOST + ":" + GRPC_PORT)), Map.of(), HARNESS.projectRoot());
        assertEquals(0, client.awaitExit(Duration.ofSeconds(90)), client.logTail(60));
        Map<String, String> out = new HashMap<>();
        for (String line : Files.readAllLines(client.log())) {
            int eq = line.indexOf('=');
            if (eq > 0 && line.matches("^[a-z]+=.*")) {
                out.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        String authority = B_HOST + ":" + GRPC_PORT;
        // Unary: app B answered, saw the authority app A addressed and app A's own request header.
        assertEquals("b|" + authority + "|app-a|5|hello", out.get("unary"), client.logTail(60));
        // 1 MiB each way: flow control on both HTTP/2 hops and the mTLS hop in between, every byte intact.
        assertEquals("b|" + authority + "|app-a|" + GrpcPodApp.LARGE + "|large|" + GrpcPodApp.LARGE, out.get("large"));
        // Server streaming: five messages in order, then OK.
        assertEquals("tick-1,tick-2,tick-3,tick-4,tick-5", out.get("stream"));
        // Bidi: each message answered before the next is sent (nothing buffered until the end), then OK.
        assertEquals("ONE,TWO,THREE|OK", out.get("bidi"));
        // A failed call: app B's status code, message and its own trailer arrive at app A as sent.
        assertEquals("FAILED_PRECONDITION|widget 42 is locked|locked-by-b", out.get("fail"));
        // App A cancels an endless stream after three messages: the cancel reaches app B through both sidecars (it
        // stops sending), instead of B streaming on into a sidecar that no longer has anyone to give it to.
        assertEquals("tick-1,tick-2,tick-3", out.get("cancel"));
        awaitLog(process("app-b-grpc"), "ticks t1 cancelled after ");
        assertTrue(!Files.readString(process("app-b-grpc").log()).contains("ticks t1 completed"));

        // B's sidecar, as the destination: gRPC requests over mutual TLS from A's identity, by gRPC status (OK is 0,
        // FAILED_PRECONDITION is 9), all with HTTP status 200 (a gRPC error travels in the trailers).
        String[] inbound = {"reporter=\"destination\"", "request_protocol=\"grpc\"", "connection_security_policy=\"mutual_tls\"",
                "source_principal=\"spiffe://cluster.local/ns/default/sa/a\"", "destination_service=\"" + B_HOST + "\"",
                "response_code=\"200\""};
        eventually(Duration.ofSeconds(10), () -> delta(metricsBBefore, metrics(B_IP), "istio_requests_total",
                concat(inbound, "grpc_response_status=\"0\"")) == 4
                && delta(metricsBBefore, metrics(B_IP), "istio_requests_total", concat(inbound, "grpc_response_status=\"9\"")) == 1,
                "B's sidecar reports 4 OK and 1 FAILED_PRECONDITION gRPC requests over mTLS", () -> grep(metrics(B_IP), "istio_requests_total{"));
        // A's sidecar, as the source, to service b.
        String[] outbound = {"reporter=\"source\"", "request_protocol=\"grpc\"", "destination_service=\"" + B_HOST + "\""};
        eventually(Duration.ofSeconds(10), () -> delta(metricsABefore, metrics(A_IP), "istio_requests_total", outbound) == 6
                && delta(metricsABefore, metrics(A_IP), "istio_requests_total", concat(outbound, "grpc_response_status=\"0\"")) == 4
                && delta(metricsABefore, metrics(A_IP), "istio_requests_total", concat(outbound, "grpc_response_status=\"9\"")) == 1,
                "A's sidecar reports the 6 gRPC requests to service b (4 OK, 1 FAILED_PRECONDITION, 1 cancelled)",
                () -> grep(metrics(A_IP), "istio_requests_total{"));
        // B's sidecar was spoken to in HTTP/2 by A's: its access log line for each call says so (Istio's default text
        // format: "[START] \"METHOD PATH PROTOCOL\" ...").
        ManagedProcess sidecarB = process("sidecar-b");
        List<String> calls = Files.readAllLines(sidecarB.log()).stream().filter(l -> l.contains(" /" + GrpcPodApp.SERVICE + "/")
                && !l.contains("/Ticks ")).toList();
        assertEquals(5, calls.size(), String.join("\n", calls));
        assertEquals(List.of(), calls.stream().filter(l -> !l.matches(".*\"POST /" + java.util.regex.Pattern.quote(GrpcPodApp.SERVICE)
                + "/\\S+ HTTP/2\" .*")).toList(), "HTTP/2 from A's sidecar");

        // AuthorizationPolicy on a gRPC method (its path, on the gRPC port): B's sidecar refuses Say as Envoy does to a
        // gRPC request, PERMISSION_DENIED with RBAC's message, while the service's other methods go on. (Without the
        // port, the rule would close every TCP connection to B: on a TCP chain a DENY drops its HTTP-only fields.)
        String deniedBefore = metrics(B_IP);
        write("deny-grpc-say.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-grpc-say
                  namespace: default
                spec:
                  action: DENY
                  rules:
                  - to:
                    - operation:
                        ports: ["%d"]
                        paths: ["/%s/Say"]
                """.formatted(GRPC_PORT, GrpcPodApp.SERVICE));
        ManagedProcess refused = HARNESS.startProcess("app-a-grpc-refused", concat(PodNetwork.inPod(podA, null), List.of(java(),
                "-Xmx64m", "-cp", System.getProperty("java.class.path"), GrpcPodApp.class.getName(), "until-refused",
                B_HOST + ":" + GRPC_PORT)), Map.of(), HARNESS.projectRoot());
        assertEquals(0, refused.awaitExit(Duration.ofSeconds(90)), refused.logTail(60));
        String refusedOut = Files.readString(refused.log());
        assertTrue(refusedOut.contains("refused=PERMISSION_DENIED|RBAC: access denied\n"), refusedOut);
        assertTrue(refusedOut.contains("then=then-1,then-2\n"), refusedOut);
        eventually(Duration.ofSeconds(10), () -> delta(deniedBefore, metrics(B_IP), "istio_requests_total", concat(inbound,
                "grpc_response_status=\"7\"")) == 1, "B's sidecar reports the refused call as PERMISSION_DENIED",
                () -> grep(metrics(B_IP), "istio_requests_total{"));
        Files.delete(configDir.resolve("deny-grpc-say.yaml"));
    }

    @Test
    @Order(13)
    void grpcCallsOnOneConnectionAreSplitPerCallByTheRouteWeights() throws Exception {
        // gRPC keeps one HTTP/2 connection per channel, so a connection-level balancer cannot spread its calls. The
        // sidecar routes each call (each HTTP/2 stream) on its own: 50/50 between b and b-v2 on app A's one channel.
        String metricsABefore = metrics(A_IP);
        write("b-grpc-split.yaml", """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: b-grpc-split
                  namespace: default
                spec:
                  hosts:
                  - %1$s
                  http:
                  - match:
                    - port: %2$d
                    route:
                    - destination:
                        host: %1$s
                        port:
                          number: %2$d
                      weight: 50
                    - destination:
                        host: %3$s
                        port:
                          number: %4$d
                      weight: 50
                  - route:
                    - destination:
                        host: %1$s
                """.formatted(B_HOST, GRPC_PORT, B_V2_HOST, GRPC_V2_PORT));
        int n = 100;
        ManagedProcess client = HARNESS.startProcess("app-a-grpc-split", concat(PodNetwork.inPod(podA, null), List.of(java(),
                "-Xmx64m", "-cp", System.getProperty("java.class.path"), GrpcPodApp.class.getName(), "split",
                B_HOST + ":" + GRPC_PORT, Integer.toString(n))), Map.of(), HARNESS.projectRoot());
        assertEquals(0, client.awaitExit(Duration.ofSeconds(90)), client.logTail(60));
        Map<String, Map<String, Integer>> out = new HashMap<>();
        String authorities = null;
        for (String line : Files.readAllLines(client.log())) {
            if (line.startsWith("warmup=") || line.startsWith("split=")) {
                Map<String, Integer> counts = new java.util.TreeMap<>();
                for (String pair : line.substring(line.indexOf('=') + 1).split(",")) {
                    counts.put(pair.substring(0, pair.indexOf(':')), Integer.parseInt(pair.substring(pair.indexOf(':') + 1)));
                }
                out.put(line.substring(0, line.indexOf('=')), counts);
            } else if (line.startsWith("authorities=")) {
                authorities = line.substring("authorities=".length());
            }
        }
        assertEquals(java.util.Set.of("b", "b-v2"), out.get("warmup").keySet(), "the split reached A's sidecar: " + out);
        Map<String, Integer> split = out.get("split");
        int toB = split.getOrDefault("b", 0);
        assertEquals(n, toB + split.getOrDefault("b-v2", 0), split.toString());
        // 50 of 100 +-20: 4 standard deviations of a fair coin, far from all to one side.
        assertTrue(toB >= 30 && toB <= 70, "50/50 split of " + n + " calls on one channel: " + split);
        // Both apps saw the authority app A addressed (the route does not rewrite it).
        assertEquals(B_HOST + ":" + GRPC_PORT, authorities);
        // A's sidecar reports each call to the service its route picked.
        Map<String, Integer> total = new java.util.TreeMap<>(out.get("warmup"));
        split.forEach((k, v) -> total.merge(k, v, Integer::sum));
        eventually(Duration.ofSeconds(10), () -> {
            String a = metrics(A_IP);
            return delta(metricsABefore, a, "istio_requests_total", "reporter=\"source\"", "request_protocol=\"grpc\"",
                    "destination_service=\"" + B_HOST + "\"", "grpc_response_status=\"0\"") == total.get("b")
                    && delta(metricsABefore, a, "istio_requests_total", "reporter=\"source\"", "request_protocol=\"grpc\"",
                            "destination_service=\"" + B_V2_HOST + "\"", "grpc_response_status=\"0\"") == total.get("b-v2");
        }, "A's sidecar counts " + total + " gRPC calls by destination service", () -> grep(metrics(A_IP), "istio_requests_total{"));
        Files.delete(configDir.resolve("b-grpc-split.yaml"));
    }

    @Test
    @Order(14)
    void aTcpRouteSplitsNewConnectionsByWeightOverMutualTlsAndANewWeightMovesThemAll() throws Exception {
        Map<String, Integer> seen = new java.util.TreeMap<>();
        String metricsABefore = metrics(A_IP);
        String metricsBBefore = metrics(B_IP);
        // No VirtualService yet: ledger's connections all reach ledger's own app (the apps speak first, so each
        // connection is answered before app A writes a byte).
        assertEquals(Map.of("ledger-v1", 10), ledgerConnections(10, seen));

        write("ledger-split.yaml", ledgerSplit(80, 20));
        eventually(Duration.ofSeconds(30), () -> ledgerConnections(5, seen).containsKey("ledger-v2"),
                "the 80/20 split reaches A's sidecar");
        int n = 200;
        Map<String, Integer> split = ledgerConnections(n, seen);
        int v1 = split.getOrDefault("ledger-v1", 0);
        int v2 = split.getOrDefault("ledger-v2", 0);
        assertEquals(n, v1 + v2, split.toString());
        // 80 % of 200 is 160; +-20 is 3.5 standard deviations of a fair 80/20 draw, and far from 50/50 or all-to-one.
        assertTrue(v1 >= 140 && v1 <= 180, "80/20 split of " + n + " connections: " + split);

        // New weights, same sidecars: every new connection goes to ledger-v2.
        write("ledger-split.yaml", ledgerSplit(0, 100));
        eventually(Duration.ofSeconds(30), () -> ledgerConnections(20, seen).equals(Map.of("ledger-v2", 20)),
                "0/100 reaches A's sidecar (20 connections in a row to ledger-v2)");
        assertEquals(Map.of("ledger-v2", 100), ledgerConnections(100, seen));
        for (String sidecar : List.of("sidecar-a", "sidecar-b")) {
            assertTrue(process(sidecar).isAlive(), sidecar + " still runs: the weights changed without a restart");
        }

        // A's sidecar reports each connection to the service it picked, and B's sidecar received every one of them
        // over mutual TLS from A's identity (no plaintext connection reached the ledger ports).
        int total = seen.values().stream().mapToInt(Integer::intValue).sum();
        eventually(Duration.ofSeconds(10), () -> {
            String a = metrics(A_IP);
            return delta(metricsABefore, a, "istio_tcp_connections_opened_total", "reporter=\"source\"",
                    "destination_service=\"" + LEDGER_HOST + "\"") == seen.getOrDefault("ledger-v1", 0)
                    && delta(metricsABefore, a, "istio_tcp_connections_opened_total", "reporter=\"source\"",
                            "destination_service=\"" + LEDGER_V2_HOST + "\"") == seen.get("ledger-v2");
        }, "A's sidecar counts " + seen + " connections by destination service",
                () -> grep(metrics(A_IP), "istio_tcp_connections_opened_total"));
        awaitTcpOverMtlsFromA(metricsBBefore, total);
        Files.delete(configDir.resolve("ledger-split.yaml"));
    }

    @Test
    @Order(15)
    void aResolutionNoneServiceEntryForPodBsIpTakesAppAsConnectionOverMutualTlsUnderRegistryOnly() throws Exception {
        // Port 9000 of B's pod IP: no service declares it (test 2 reached it by passthrough, plaintext). Under
        // REGISTRY_ONLY that passthrough is refused; a MESH_INTERNAL ServiceEntry with resolution NONE, no addresses and
        // B's pod IP as its one endpoint (it runs a sidecar: tlsMode istio) gives A's sidecar a B_IP:9000 listener to an
        // ORIGINAL_DST cluster with auto mTLS, so app A's connection to the pod IP (not a VIP) reaches B's app over mTLS.
        String host = "b-pod.mesh.test";
        List<String> toPodIp = List.of("http://" + B_IP + ":9000/none");
        try {
            write("sidecar.yaml", REGISTRY_ONLY);
            eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null), toPodIp).status() == 0,
                    "REGISTRY_ONLY refuses app A's connection to B's undeclared port");
            write("b-pod-none.yaml", """
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata:
                      name: b-pod-none
                      namespace: default
                    spec:
                      hosts: [%s]
                      location: MESH_INTERNAL
                      resolution: NONE
                      ports:
                      - {number: 9000, name: tcp, protocol: TCP}
                      endpoints:
                      - address: %s
                        serviceAccount: b
                        labels:
                          security.istio.io/tlsMode: istio
                    """.formatted(host, B_IP));
            eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null), toPodIp).status() == 200,
                    "the resolution NONE entry lets app A reach B's pod IP under REGISTRY_ONLY");
            String metricsABefore = metrics(A_IP);
            String metricsBBefore = metrics(B_IP);
            int n = 5;
            for (int i = 0; i < n; i++) {
                Result r = curl(PodNetwork.inPod(podA, null), List.of("http://" + B_IP + ":9000/none-" + i));
                assertEquals(200, r.status(), r.body());
                // B's app answered, and saw the request as app A sent it (TCP: neither sidecar parsed it).
                assertTrue(r.body().contains("\"served_by\":\"b-undeclared\"") && r.body().contains("/none-" + i), r.body());
            }
            // B's sidecar received every connection over mutual TLS from A's identity, none in plaintext ...
            awaitTcpOverMtlsFromA(metricsBBefore, n);
            // ... and A's sidecar reports them for the ServiceEntry's host.
            eventually(Duration.ofSeconds(10), () -> delta(metricsABefore, metrics(A_IP), "istio_tcp_connections_opened_total",
                    "reporter=\"source\"", "destination_service=\"" + host + "\"") == n,
                    "A's sidecar counts " + n + " connections to " + host,
                    () -> grep(metrics(A_IP), "istio_tcp_connections_opened_total"));
            Files.delete(configDir.resolve("b-pod-none.yaml"));
            Files.delete(configDir.resolve("sidecar.yaml"));
        } finally {
            Files.deleteIfExists(configDir.resolve("b-pod-none.yaml"));
            Files.deleteIfExists(configDir.resolve("sidecar.yaml"));
        }
        // Later tests see neither: A's sidecar holds nothing of the entry, and B's port is reached by passthrough again.
        eventually(Duration.ofSeconds(30), () -> !curl(PodNetwork.inPod(podA, null),
                List.of("http://127.0.0.1:15000/config_dump")).body().contains(host)
                && curl(PodNetwork.inPod(podA, null), toPodIp).status() == 200,
                "ALLOW_ANY again, without the entry's cluster");
    }

    @Test
    @Order(16)
    void aMeshVirtualServiceForAHostOutsideTheRegistryRoutesItOnPort80() throws Exception {
        // As in istiod, a mesh VirtualService's host that no service has gets a virtual host on the sidecar's route
        // 80. The sidecar reaches it through port 80's HTTP listener, which a service with HTTP port 80 makes (web80,
        // an external entry nothing here calls). App A's request for api.external.example goes to B's pod IP, port 80,
        // where nothing listens: only the VirtualService can bring it to app B.
        List<String> toApi = List.of("--resolve", "api.external.example:80:" + B_IP, "http://api.external.example/vs80");
        try {
            write("web80.yaml", """
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata:
                      name: web80
                      namespace: default
                    spec:
                      hosts: [web80.mesh.test]
                      location: MESH_EXTERNAL
                      resolution: STATIC
                      ports:
                      - {number: 80, name: http, protocol: HTTP}
                      endpoints:
                      - address: 198.51.100.250
                    """);
            eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null),
                    List.of("http://127.0.0.1:15000/config_dump")).body().contains("0.0.0.0_80"),
                    "A's sidecar has the HTTP listener for port 80");
            // Without the VirtualService, ALLOW_ANY passes the request on to B's pod IP, where port 80 answers nothing.
            Result before = curl(PodNetwork.inPod(podA, null), toApi);
            assertTrue(before.status() != 200 && !before.body().contains("\"served_by\":\"b\""), before.toString());

            write("api-external.yaml", """
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata:
                      name: api-external
                      namespace: default
                    spec:
                      hosts: [api.external.example]
                      http:
                      - route:
                        - destination:
                            host: %s
                            port:
                              number: 8080
                    """.formatted(B_HOST));
            eventually(Duration.ofSeconds(30), () -> curl(PodNetwork.inPod(podA, null), toApi).status() == 200,
                    "the VirtualService's route for api.external.example reaches A's sidecar");
            Result r = curl(PodNetwork.inPod(podA, null), toApi);
            assertEquals(200, r.status(), r.body());
            // App B answered the request as app A wrote it, Host included.
            assertTrue(r.body().contains("\"served_by\":\"b\"") && r.body().contains("/vs80")
                    && r.body().contains("\"host\":\"api.external.example\""), r.body());
        } finally {
            Files.deleteIfExists(configDir.resolve("api-external.yaml"));
            Files.deleteIfExists(configDir.resolve("web80.yaml"));
        }
        eventually(Duration.ofSeconds(30), () -> !curl(PodNetwork.inPod(podA, null),
                List.of("http://127.0.0.1:15000/config_dump")).body().contains("api.external.example"),
                "A's sidecar holds nothing of the VirtualService any more");
    }

    @Test
    @Order(17)
    void aServiceWithOneSidecarEndpointAndOnePlainOneIsReachedAtBothUnderStrict() throws Exception {
        // A partly injected service (istiod's per-endpoint auto mTLS): one endpoint is pod B behind its sidecar (tlsMode
        // istio), the other a plain server on the node outside the mesh. Under STRICT, B's sidecar takes only mTLS and
        // the node's server only plaintext: A's sidecar must pick the transport per endpoint to reach both.
        com.sun.net.httpserver.HttpServer plain = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(PodNetwork.NODE_IP, 0), 16);
        plain.createContext("/", x -> {
            byte[] body = "{\"served_by\":\"plain-node\"}".getBytes(StandardCharsets.US_ASCII);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        plain.start();
        String vip = "198.51.100.106";
        List<String> toMixed = List.of("--resolve", "mixed.default.svc.cluster.local:8080:" + vip,
                "http://mixed.default.svc.cluster.local:8080/partly-injected");
        try {
            write("mixed.yaml", serviceEntry("mixed", B_IP, vip, "b", port(8080, "HTTP", "http")) + """
                  - address: %s
                    ports: {http: %d}
                """.formatted(PodNetwork.NODE_IP, plain.getAddress().getPort()));
            write("peer-authentication.yaml", peerAuthentication("STRICT"));
            eventually(Duration.ofSeconds(30), () -> curlFromNode("/outside").status() == 0, "STRICT refuses plaintext");
            java.util.Set<String> servedBy = new java.util.TreeSet<>();
            eventually(Duration.ofSeconds(30), () -> {
                Result r = curl(PodNetwork.inPod(podA, null), toMixed);
                Matcher m = Pattern.compile("\"served_by\":\"([^\"]+)\"").matcher(r.body());
                if (r.status() == 200 && m.find()) {
                    servedBy.add(m.group(1));
                }
                return servedBy.size() == 2;
            }, "both endpoints answer A", () -> "served by " + servedBy);
            assertEquals(java.util.Set.of("b", "plain-node"), servedBy);
            // Round robin over the two: every request answers, none is refused by the STRICT sidecar or the plain server.
            for (int i = 0; i < 4; i++) {
                Result r = curl(PodNetwork.inPod(podA, null), toMixed);
                assertEquals(200, r.status(), r.body());
            }
        } finally {
            Files.deleteIfExists(configDir.resolve("mixed.yaml"));
            write("peer-authentication.yaml", peerAuthentication("PERMISSIVE"));
            eventually(Duration.ofSeconds(30), () -> curlFromNode("/outside").status() == 200, "PERMISSIVE again");
            Files.delete(configDir.resolve("peer-authentication.yaml"));
            plain.stop(0);
        }
    }

    @Test
    @Order(18)
    void aWebSocketBetweenTwoMeshedAppsGoesOverMutualTlsUnderStrict() throws Exception {
        // Under STRICT, B's sidecar takes only mutual TLS: A's sidecar must originate it for the upgrade too (its
        // WebSocket client with the mesh certificate and SNI), or the upgrade is refused and the echo never comes.
        write("peer-authentication.yaml", peerAuthentication("STRICT"));
        try {
            eventually(Duration.ofSeconds(30), () -> curlFromNode("/outside").status() == 0, "STRICT refuses plaintext");
            double before = value(metrics(B_IP), "istio_requests_total", "reporter=\"destination\"",
                    "response_code=\"101\"", "connection_security_policy=\"mutual_tls\"");
            Process p = new ProcessBuilder(concat(PodNetwork.inPod(podA, null), List.of(java(), "-Xmx32m", "-cp",
                    System.getProperty("java.class.path"), WebSocketPodApp.class.getName(), "client",
                    "ws://" + B_HOST + ":" + WS_PORT + "/chat", "hello over the mesh"))).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the client did not finish");
            assertEquals("b-ws: hello over the mesh\n", out, "B's app answered through both sidecars");
            eventually(Duration.ofSeconds(10), () -> value(metrics(B_IP), "istio_requests_total",
                    "reporter=\"destination\"", "response_code=\"101\"",
                    "connection_security_policy=\"mutual_tls\"") > before,
                    "B's sidecar took the upgrade over mutual TLS");
        } finally {
            write("peer-authentication.yaml", peerAuthentication("PERMISSIVE"));
            eventually(Duration.ofSeconds(30), () -> curlFromNode("/outside").status() == 200, "PERMISSIVE again");
            Files.delete(configDir.resolve("peer-authentication.yaml"));
        }
    }

    @Test
    @Order(19)
    void cleanupLeavesThePodsIptablesExactlyAsBefore() throws Exception {
        assertEquals(0, runGateway(podA, List.of("init-iptables", "--cleanup")));
        assertEquals(natBeforeA, PodNetwork.nat(podA));
    }

    // ----- the pods' processes

    private static void startSidecar(String name, String pod, String ip, String token, Path tokens, Path root, String ca,
            String xds) throws Exception {
        Path home = Files.createDirectories(tokens.resolve("home-" + name));
        Path tokenFile = tokens.resolve(name + ".token");
        Files.writeString(tokenFile, token);
        for (Path p : List.of(home, tokenFile)) {
            PodNetwork.run(List.of("chown", PROXY_UID + ":" + PROXY_UID, p.toString()));
        }
        Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("r--------"));
        Map<String, String> env = new HashMap<>();
        env.put("HOME", home.toString());
        env.put("QUARKUS_HTTP_HOST", "0.0.0.0");
        env.put("MESH_GATEWAY_MODE", "sidecar");
        env.put("INSTANCE_IP", ip);
        env.put("POD_NAMESPACE", "default");
        env.put("MESH_GATEWAY_CANONICAL_SERVICE", name);
        env.put("MESH_GATEWAY_CANONICAL_REVISION", "v1");
        env.put("MESH_GATEWAY_XDS_ADDRESS", xds);
        env.put("MESH_GATEWAY_CA_ADDRESS", ca);
        env.put("MESH_GATEWAY_CA_TOKEN_FILE", tokenFile.toString());
        env.put("MESH_GATEWAY_CA_ROOT_CERT_FILE", root.toString());
        env.put("MESH_GATEWAY_ADMIN_PORT", "15000");
        env.put("MESH_GATEWAY_CA_TTL", "2m");
        env.put("MESH_GATEWAY_LIMITS_REQUEST_HEADER_TIMEOUT", "3s");
        env.put("MESH_GATEWAY_LIMITS_MAX_CONNECTIONS", Integer.toString(MAX_CONNECTIONS));
        List<String> command = concat(PodNetwork.inPod(pod, PROXY_UID), List.of(java(), "-XX:+UseSerialGC", "-Xmx128m",
                "-Djna.tmpdir=" + home, "-jar", gatewayJar().toString(), "sidecar"));
        ManagedProcess sidecar = HARNESS.startProcess("sidecar-" + name, command, env, HARNESS.projectRoot());
        HARNESS.awaitHttpOk(sidecar, URI.create("http://" + ip + ":15021/healthz/ready"), ProcessHarness.READY_DEADLINE);
    }

    private static int initIptables(String pod) throws Exception {
        return runGateway(pod, List.of("init-iptables", "--proxy-uid=" + PROXY_UID, "--proxy-gid=" + PROXY_UID));
    }

    private static int runGateway(String pod, List<String> args) throws Exception {
        List<String> command = concat(PodNetwork.inPod(pod, null), List.of(java(), "-jar", gatewayJar().toString()));
        command = concat(command, args);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "gateway " + args + " did not finish");
        System.out.println("gateway " + String.join(" ", args) + " in " + pod + " -> " + p.exitValue() + ": " + out);
        return p.exitValue();
    }

    // ----- clients

    /**
     * {@code n} new TCP connections from app A to {@code ledger}, one after the other (bash's /dev/tcp: no process per
     * connection): each reads the app's name, sends a line and reads the answer. Returns how many each app answered
     * (also added to {@code seen}); a connection that failed or got a garbled answer fails the test.
     */
    private static Map<String, Integer> ledgerConnections(int n, Map<String, Integer> seen) throws Exception {
        String script = "for i in $(seq " + n + "); do { read -r -t 5 name <&3 && echo \"ping-$i\" >&3 && read -r -t 5 reply <&3"
                + " && echo \"$i|$name|$reply\"; } 3<>/dev/tcp/" + LEDGER_HOST + "/" + LEDGER_PORT + " || echo \"$i|failed\"; done";
        Process p = new ProcessBuilder(concat(PodNetwork.inPod(podA, null), List.of("bash", "-c", script)))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the connections did not finish");
        Map<String, Integer> counts = new java.util.TreeMap<>();
        List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
        assertEquals(n, lines.size(), out);
        for (String line : lines) {
            String[] f = line.split("\\|");
            assertTrue(f.length == 3 && f[1].startsWith("ledger-v") && f[2].equals(f[1] + " ping-" + f[0]),
                    "connection " + line + " in:\n" + out);
            counts.merge(f[1], 1, Integer::sum);
            seen.merge(f[1], 1, Integer::sum);
        }
        return counts;
    }

    record Result(int status, String body) {
    }

    /** App A's plain curl, by service name (the pod's DNS resolves it to the service VIP). */
    private static Result curlFromA(String path) throws Exception {
        return curl(PodNetwork.inPod(podA, null), List.of("http://" + B_HOST + ":8080" + path));
    }

    /** A client outside the mesh: the node itself, straight to B's pod IP, in plaintext. */
    private static Result curlFromNode(String path) throws Exception {
        return curl(List.of(), List.of("http://" + B_IP + ":8080" + path));
    }

    /** Status 0 means no HTTP answer (refused, reset or closed). */
    private static Result curl(List<String> prefix, List<String> args) throws Exception {
        List<String> command = concat(prefix, List.of("curl", "-s", "--max-time", "5", "-w", "\n%{http_code}"));
        command = concat(command, args);
        Process p = new ProcessBuilder(command).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(15, TimeUnit.SECONDS);
        int nl = out.lastIndexOf('\n');
        int status = Integer.parseInt(out.substring(nl + 1).strip().isEmpty() ? "0" : out.substring(nl + 1).strip());
        return new Result(status, nl < 0 ? "" : out.substring(0, nl));
    }

    /** B's sidecar counts {@code n} more TCP connections (since {@code metricsBBefore}) over mTLS from A, none in plaintext. */
    private static void awaitTcpOverMtlsFromA(String metricsBBefore, int n) throws Exception {
        eventually(Duration.ofSeconds(10), () -> {
            String b = metrics(B_IP);
            return delta(metricsBBefore, b, "istio_tcp_connections_opened_total", "reporter=\"destination\"",
                    "connection_security_policy=\"mutual_tls\"", "source_principal=\"spiffe://cluster.local/ns/default/sa/a\"")
                    == n
                    && delta(metricsBBefore, b, "istio_tcp_connections_opened_total", "reporter=\"destination\"",
                            "connection_security_policy=\"none\"") == 0;
        }, "B's sidecar received all " + n + " connections over mTLS from A",
                () -> grep(metrics(B_IP), "istio_tcp_connections_opened_total"));
    }

    private static String metrics(String podIp) throws Exception {
        HttpResponse<String> r = HARNESS.get(URI.create("http://" + podIp + ":15020/q/metrics"));
        assertEquals(200, r.statusCode());
        return r.body();
    }

    /** A value of the sidecar's admin {@code /stats} (Envoy's text form), read from inside its pod. */
    private static long adminStat(String pod, String name) throws Exception {
        Result r = curl(PodNetwork.inPod(pod, null), List.of("http://127.0.0.1:15000/stats"));
        assertEquals(200, r.status(), r.body());
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + ": (\\d+)$").matcher(r.body());
        assertTrue(m.find(), name + " in " + r.body());
        return Long.parseLong(m.group(1));
    }

    private static String citadelMetrics() throws Exception {
        return HARNESS.get(citadel.monitoring("/q/metrics")).body();
    }

    /** How much the samples of {@code metric} with every label given grew from {@code before} to {@code after}. */
    private static long delta(String before, String after, String metric, String... labels) {
        return Math.round(value(after, metric, labels) - value(before, metric, labels));
    }

    /** The lines of an exposition that contain {@code text}, for a failure message. */
    private static String grep(String exposition, String text) {
        return String.join("\n", exposition.lines().filter(l -> l.contains(text)).toList());
    }

    /** True when one sample line of {@code metric} carries every label given. */
    private static boolean has(String exposition, String metric, String... labels) {
        return exposition.lines().filter(l -> l.startsWith(metric + "{"))
                .anyMatch(l -> java.util.Arrays.stream(labels).allMatch(l::contains));
    }

    /** The sum of the samples of {@code metric} whose labels include every one given. */
    private static double value(String exposition, String metric, String... labels) {
        return exposition.lines().filter(l -> l.startsWith(metric + "{"))
                .filter(l -> java.util.Arrays.stream(labels).allMatch(l::contains))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static long counter(String exposition, String metric) {
        Matcher m = Pattern.compile("^" + metric + "(\\{[^}]*})? ([0-9.eE+]+)$", Pattern.MULTILINE).matcher(exposition);
        double sum = 0;
        while (m.find()) {
            sum += Double.parseDouble(m.group(2));
        }
        return (long) sum;
    }

    // ----- config and helpers

    /** ledger's VirtualService: its TCP port split between ledger's app and ledger-v2's by these weights. */
    private static String ledgerSplit(int toLedger, int toLedgerV2) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: ledger-split
                  namespace: default
                spec:
                  hosts:
                  - %s
                  tcp:
                  - match:
                    - port: %d
                    route:
                    - destination:
                        host: %s
                        port:
                          number: %d
                      weight: %d
                    - destination:
                        host: %s
                        port:
                          number: %d
                      weight: %d
                """.formatted(LEDGER_HOST, LEDGER_PORT, LEDGER_HOST, LEDGER_PORT, toLedger, LEDGER_V2_HOST, LEDGER_V2_PORT,
                toLedgerV2);
    }

    /** The namespace-wide PeerAuthentication of namespace default in {@code mode}. */
    private static String peerAuthentication(String mode) {
        return """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata:
                  name: default
                  namespace: default
                spec:
                  mtls:
                    mode: %s
                """.formatted(mode);
    }

    private static String service(String name, String ip, String vip) {
        return serviceEntry(name, ip, vip, name, port(8080, "HTTP", "http"));
    }

    private static String tcpService(String name, String ip, String vip, int port, String serviceAccount) {
        return serviceEntry(name, ip, vip, serviceAccount, port(port, "TCP", "tcp"));
    }

    /** One entry of a ServiceEntry's {@code ports}. */
    private static String port(int number, String protocol, String name) {
        return """
                  - number: %d
                    name: %s
                    protocol: %s
                """.formatted(number, name, protocol);
    }

    /** A MESH_INTERNAL ServiceEntry: the ports given, one endpoint that runs a sidecar ({@code tlsMode: istio}). */
    private static String serviceEntry(String name, String ip, String vip, String serviceAccount, String... ports) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: %1$s
                  namespace: default
                spec:
                  hosts:
                  - %1$s.default.svc.cluster.local
                  addresses:
                  - %3$s
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports:
                %4$s  endpoints:
                  - address: %2$s
                    serviceAccount: %5$s
                    labels:
                      app: %1$s
                      security.istio.io/tlsMode: istio
                """.formatted(name, ip, vip, String.join("", ports), serviceAccount);
    }

    private static void write(String file, String yaml) throws Exception {
        Path tmp = configDir.resolve("." + file + ".tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, configDir.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** As {@link #eventually(Duration, Callable, String)}, with {@code detail} (e.g. the metrics then) in the failure. */
    private static void eventually(Duration deadline, Callable<Boolean> condition, String what, Callable<String> detail) {
        try {
            org.awaitility.Awaitility.await(what).atMost(deadline).pollInterval(Duration.ofMillis(200)).until(condition);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            String seen;
            try {
                seen = detail.call();
            } catch (Exception failed) {
                seen = "(no detail: " + failed + ")";
            }
            fail("not within " + deadline + ": " + what + "\n" + seen);
        }
    }

    /** Polls a condition that pilot's push makes true, failing with {@code what} after the deadline. */
    private static void eventually(Duration deadline, Callable<Boolean> condition, String what) {
        eventually(deadline, condition, what, SidecarMeshIT::diagnostics);
    }

    /** What pilot sent B's sidecar and what it applied, for a failure message. */
    private static String diagnostics() {
        StringBuilder sb = new StringBuilder();
        try {
            Process p = new ProcessBuilder(concat(PodNetwork.inPod(podB, null),
                    List.of("curl", "-s", "--max-time", "5", "http://127.0.0.1:15000/config_dump"))).start();
            String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            sb.append("sidecar b /config_dump (first 6000 chars):\n").append(dump, 0, Math.min(dump.length(), 6000));
        } catch (Exception e) {
            sb.append("no config dump: ").append(e);
        }
        return sb.toString();
    }

    private static Path gatewayJar() {
        return Component.GATEWAY.runnableJar(HARNESS.projectRoot());
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String[] concat(String[] a, String b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = b;
        return out;
    }

    private static ManagedProcess process(String name) {
        return HARNESS.processes().stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no process " + name));
    }

    /** Waits until the process's log shows {@code text}; fails with the log if it exits first or takes a minute. */
    private static void awaitLog(ManagedProcess process, String text) {
        eventually(Duration.ofMinutes(1), () -> {
            if (Files.exists(process.log()) && Files.readString(process.log()).contains(text)) {
                return true;
            }
            if (!process.isAlive()) {
                fail(process.name() + " exited before logging \"" + text + "\":\n" + process.logTail(60));
            }
            return false;
        }, process.name() + " logs \"" + text + "\"", () -> process.logTail(60));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
