package io.mesh.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.client.CertificateClient;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The product's run command, as a user runs it: {@code ./mesh up} starts every component and the demo
 * backends, they are all ready, {@code ./mesh down} stops them, and nothing it started is left.
 */
class LocalRunnerIT {

    @RegisterExtension
    final ProcessHarness harness = new ProcessHarness().named("local-runner");

    @Test
    void upStartsEveryComponentAndTheDemoThenDownLeavesNothingRunning() throws Exception {
        Path runDir = harness.workDir().resolve("run");
        deleteRecursively(runDir);
        Map<String, String> env = new HashMap<>();
        env.put("MESH_RUN_DIR", runDir.toString());
        Map<Component, Integer> monitoringPorts = new HashMap<>();
        for (Component component : Component.values()) {
            int port = FreePorts.next();
            monitoringPorts.put(component, port);
            env.put(component.envPrefix() + "MONITORING_PORT", Integer.toString(port));
            component.portVariables().forEach(variable -> env.put(variable, Integer.toString(FreePorts.next())));
        }
        int webPort = FreePorts.next();
        int backendPort = FreePorts.next();
        env.put("MESH_DEMO_WEB_PORT", Integer.toString(webPort));
        env.put("MESH_DEMO_BACKEND_PORT", Integer.toString(backendPort));

        List<Long> started = new ArrayList<>();
        try {
            assertEquals(0, runner(env, "up"), "./mesh up failed");
            started.addAll(recordedPids(runDir));
            assertEquals(Component.values().length + 2, started.size(), "one pid per component and demo backend");

            for (Component component : Component.values()) {
                URI ready = URI.create("http://127.0.0.1:" + monitoringPorts.get(component) + "/q/health/ready");
                HttpResponse<String> response = harness.get(ready);
                assertEquals(200, response.statusCode(), component + " is not ready: " + response.body());
                assertTrue(response.body().contains("\"UP\""), response.body());
            }
            // The ingress gateway has its own SPIFFE identity from citadel (its readiness waited for it).
            String gatewayLog = Files.readString(runDir.resolve("logs/gateway.log"));
            assertTrue(gatewayLog.contains("workload identity spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway ready"),
                    "the gateway's log says its identity is ready");
            assertDemoAnswers(webPort, "web");
            assertDemoAnswers(backendPort, "backend");

            // A demo workload proves its identity with the bootstrap token the runner gave it and gets its SPIFFE certificate.
            Path state = runDir.resolve("state");
            try (CertificateClient certificates = CertificateClient.builder("127.0.0.1:" + env.get("MESH_CITADEL_GRPC_PORT"))
                    .rootsFile(state.resolve("citadel/root-cert.pem")).tokenFile(state.resolve("tokens/demo.web.token")).build()) {
                CertifiedKey web = certificates.fetch();
                assertEquals(List.of(List.of(6, "spiffe://cluster.local/ns/demo/sa/web")),
                        web.leaf().getSubjectAlternativeNames().stream().map(List::copyOf).toList());
            }

            // The demo through the ingress gateway: pilot's routes from deploy/local/config split it 50/50.
            int ingress = Integer.parseInt(env.get("MESH_GATEWAY_LISTENERS_HTTP_PORT"));
            Map<String, Integer> servedBy = new HashMap<>();
            for (int i = 0; i < 200; i++) {
                HttpResponse<String> response = harness.get(URI.create("http://127.0.0.1:" + ingress + "/split-" + i));
                assertEquals(200, response.statusCode(), response.body());
                servedBy.merge(response.body().contains("\"served_by\":\"web\"") ? "web" : "backend", 1, Integer::sum);
            }
            assertTrue(servedBy.getOrDefault("web", 0) >= 60 && servedBy.getOrDefault("backend", 0) >= 60,
                    "the ingress splits web/backend about 50/50: " + servedBy);
            // The gateway reported that traffic to telemetry over OTLP: meshctl apps shows both services live.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2)).until(() -> {
                String apps = meshctl(env, "apps") == 0 ? Files.readString(harness.workDir().resolve("logs/meshctl-apps.log")) : "";
                return apps.contains("web.demo.svc.cluster.local") && apps.contains("backend.demo.svc.cluster.local")
                        && apps.contains("100.00%");
            });
            assertEquals(0, meshctl(env, "proxy-status"), "a proxy NACKed");
            String proxies = Files.readString(harness.workDir().resolve("logs/meshctl-proxy-status.log"));
            assertTrue(proxies.contains("ROUTER") && proxies.contains("SYNCED") && !proxies.contains("NACKED"), proxies);

            // The gateway's effective config as pilot serves it: the demo's 50/50 route, its clusters and listener ...
            assertEquals(0, meshctl(env, "pc-routes", "proxy-config", "router~", "routes"));
            String routes = log("meshctl-pc-routes");
            assertTrue(routes.contains("NAME     VHOST NAME           DOMAINS    MATCH        VIRTUAL SERVICE   DESTINATION"), routes);
            assertTrue(routes.contains("http.80  demo/web-ingress:80  *          /*           web-ingress.demo  "
                    + "backend.demo.svc.cluster.local:80 50%, web.demo.svc.cluster.local:80 50%"), routes);
            assertTrue(routes.contains("http.80  demo/resilience:80   localhost  /slow*       resilience.demo   "
                    + "backend.demo.svc.cluster.local:80"), routes);
            // What the gateway accepted (its admin /config_dump) is what pilot serves it.
            assertEquals(0, meshctl(env, "pc-routes-accepted", "proxy-config", "router~", "routes", "--source", "proxy"));
            assertEquals(routes, log("meshctl-pc-routes-accepted"));
            assertEquals(0, meshctl(env, "pc-clusters", "proxy-config", "clusters", "router~"));
            assertTrue(log("meshctl-pc-clusters").contains("web.demo.svc.cluster.local      80    -       outbound   EDS   -"),
                    log("meshctl-pc-clusters"));
            assertEquals(0, meshctl(env, "pc-listeners", "proxy-config", "router~", "listeners"));
            assertTrue(log("meshctl-pc-listeners").contains("0.0.0.0  80    ALL    Route: http.80"), log("meshctl-pc-listeners"));
            // ... and its endpoints with the gateway's live outlier state from its admin port.
            assertEquals(0, meshctl(env, "pc-endpoints", "proxy-config", "router~", "endpoints"));
            String endpoints = log("meshctl-pc-endpoints");
            for (String row : List.of("127.0.0.1:" + webPort + " +HEALTHY +OK +outbound\\|80\\|\\|web\\.demo\\.svc\\.cluster\\.local",
                    "127.0.0.1:" + backendPort + " +HEALTHY +OK +outbound\\|80\\|\\|backend\\.demo\\.svc\\.cluster\\.local")) {
                assertTrue(java.util.regex.Pattern.compile("(?m)^" + row + "$").matcher(endpoints).find(), row + " in:\n" + endpoints);
            }
            // ... and the certificates it holds (its admin /certs): its own from citadel, and the mesh root.
            assertEquals(0, meshctl(env, "pc-secret", "proxy-config", "router~", "secret"));
            String secrets = log("meshctl-pc-secret");
            assertTrue(secrets.startsWith("RESOURCE NAME  TYPE        STATUS  VALID CERT  SERIAL NUMBER"), secrets);
            assertTrue(java.util.regex.Pattern.compile("(?m)^default +Cert Chain +ACTIVE +true +[0-9a-f]+ ").matcher(secrets).find(), secrets);
            assertTrue(java.util.regex.Pattern.compile("(?m)^ROOTCA +CA +ACTIVE +true +[0-9a-f]+ ").matcher(secrets).find(), secrets);
            // ... and its log levels, changed at once through its admin /logging (istioctl proxy-config log).
            assertEquals(0, meshctl(env, "pc-log-set", "proxy-config", "router~", "log", "--level", "router:debug,config:warning"));
            assertTrue(log("meshctl-pc-log-set").contains("  config: warning\n") && log("meshctl-pc-log-set").contains("  router: debug\n"),
                    log("meshctl-pc-log-set"));
            assertEquals(0, meshctl(env, "pc-log-all", "proxy-config", "router~", "log", "--level", "info"));
            assertTrue(log("meshctl-pc-log-all").contains("  config: info\n") && log("meshctl-pc-log-all").contains("  router: info\n"),
                    log("meshctl-pc-log-all"));
            assertEquals(1, meshctl(env, "pc-log-bad", "proxy-config", "router~", "log", "--level", "routr:debug"));
            assertTrue(log("meshctl-pc-log-bad").contains("unknown logger 'routr'"), log("meshctl-pc-log-bad"));
            assertEquals(1, meshctl(env, "pc-unknown", "proxy-config", "no-such-pod", "routes"));
            assertTrue(log("meshctl-pc-unknown").contains("no connected proxy is \"no-such-pod\"; connected:"), log("meshctl-pc-unknown"));

            // apps -w on a non-terminal: successive tables, a blank line between, each with the MTLS column.
            assertEquals(0, meshctl(env, "apps-watch", "apps", "-w", "--interval", "500ms", "--iterations", "2"));
            String watched = log("meshctl-apps-watch");
            String[] frames = watched.split("\n\n");
            assertEquals(2, frames.length, watched);
            for (String frame : frames) {
                assertTrue(frame.startsWith("NAME ") && frame.contains("MTLS") && frame.contains("web.demo.svc.cluster.local"), frame);
            }

            // The README's retry and timeout demo, with its curl lines: the VirtualService for the host localhost.
            String demo = "http://localhost:" + ingress;
            assertEquals(List.of("200", "200", "200", "200"), curlCodes(demo + "/flaky", 4), "retried: only 200s");
            List<String> unretried = curlCodes(demo + "/unretried", 4);
            assertEquals(2, unretried.stream().filter("503"::equals).count(), "attempts: 0 shows the failures: " + unretried);
            assertEquals(2, unretried.stream().filter("200"::equals).count(), unretried.toString());
            assertEquals(List.of("504"), curlCodes(demo + "/slow?ms=3000", 1), "the 1 s timeout (the backend answers at 3 s)");
            assertEquals(List.of("200"), curlCodes(demo + "/slow?ms=200", 1));
            // ... and its CORS line: the gateway answers the preflight of a browser app on http://localhost:3000.
            Process preflight = new ProcessBuilder("curl", "-si", "--max-time", "10", "-X", "OPTIONS", demo + "/hello",
                    "-H", "Origin: http://localhost:3000", "-H", "Access-Control-Request-Method: POST")
                    .redirectErrorStream(true).start();
            String answer = new String(preflight.getInputStream().readAllBytes(), StandardCharsets.UTF_8).toLowerCase();
            assertTrue(preflight.waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(answer.startsWith("http/1.1 200") && answer.contains("access-control-allow-origin: http://localhost:3000")
                    && answer.contains("access-control-allow-methods: get,post")
                    && answer.contains("access-control-max-age: 600"), answer);

            assertEquals(0, runner(env, "status"), "./mesh status reports a process that is not ready");
            String status = Files.readString(harness.workDir().resolve("logs/mesh-status.log"));
            assertTrue(status.contains("pilot") && status.contains("ready"), status);

            // meshctl checks the local mesh from the runner's run folder ...
            assertEquals(0, meshctl(env, "check"), "meshctl check fails on a healthy local mesh");
            String healthy = Files.readString(harness.workDir().resolve("logs/meshctl-check.log"));
            assertTrue(healthy.contains("✓ telemetry is ready"), healthy);
            assertTrue(healthy.contains("✓ pilot has no rejected config"), healthy);
            assertTrue(healthy.contains("✓ every connected proxy is in sync  1 proxy in sync"), healthy);
            // ... and a killed component turns it red, with exit code 1 and a hint.
            long telemetry = pidOf(runDir, "telemetry");
            ProcessHandle.of(telemetry).ifPresent(p -> {
                p.destroyForcibly();
                p.onExit().orTimeout(15, java.util.concurrent.TimeUnit.SECONDS).join();
            });
            assertEquals(1, meshctl(env, "check"), "meshctl check passes with telemetry killed");
            String broken = Files.readString(harness.workDir().resolve("logs/meshctl-check.log"));
            assertTrue(broken.contains("✗ telemetry is ready"), broken);
            assertTrue(broken.contains("hint: see ./mesh logs telemetry"), broken);
            assertTrue(broken.contains("✓ pilot is ready"), broken);
        } finally {
            assertEquals(0, runner(env, "down"), "./mesh down failed");
        }

        for (long pid : started) {
            ProcessHandle.of(pid).ifPresent(process -> process.onExit().orTimeout(15, java.util.concurrent.TimeUnit.SECONDS).join());
            assertTrue(ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true), "pid " + pid + " is still running after down");
        }
        assertEquals(List.of(), processesWithRunDir(runDir), "processes started by ./mesh up are still running");
        assertEquals(1, runner(env, "status"), "status must report stopped processes as not ready");
    }

    private int runner(Map<String, String> env, String command) throws InterruptedException {
        ManagedProcess process = harness.startProcess("mesh-" + command,
                List.of("bash", harness.projectRoot().resolve("mesh").toString(), command), env, harness.projectRoot());
        int exit = process.awaitExit(Duration.ofMinutes(5));
        System.out.printf("./mesh %s exited %d:%n%s%n", command, exit, process.logTail(40));
        return exit;
    }

    private int meshctl(Map<String, String> env, String command) throws InterruptedException {
        return meshctl(env, command, command);
    }

    /** Runs ./meshctl with args; its output goes to logs/meshctl-NAME.log. */
    private int meshctl(Map<String, String> env, String name, String... args) throws InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", harness.projectRoot().resolve("meshctl").toString()));
        command.addAll(List.of(args));
        ManagedProcess process = harness.startProcess("meshctl-" + name, command, env, harness.projectRoot());
        int exit = process.awaitExit(Duration.ofMinutes(2));
        System.out.printf("meshctl %s exited %d:%n%s%n", String.join(" ", args), exit, process.logTail(40));
        return exit;
    }

    /** The status codes of {@code n} requests, one curl each, as the README's lines make them. */
    private static List<String> curlCodes(String url, int n) throws Exception {
        List<String> codes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Process p = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "--max-time", "10", "-w", "%{http_code}", url)
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertTrue(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS), "curl " + url);
            codes.add(out);
        }
        return codes;
    }

    private String log(String name) throws IOException {
        return Files.readString(harness.workDir().resolve("logs/" + name + ".log"));
    }

    private static long pidOf(Path runDir, String name) throws IOException {
        return Long.parseLong(Files.readString(runDir.resolve("pids").resolve(name + ".pid")).trim().split("\\s+")[0]);
    }

    private void assertDemoAnswers(int port, String name) throws Exception {
        HttpResponse<String> response = harness.get(URI.create("http://127.0.0.1:" + port + "/hello"));
        assertEquals(200, response.statusCode());
        assertTrue(response.body().contains("\"served_by\":\"" + name + "\""), response.body());
    }

    private static List<Long> recordedPids(Path runDir) throws IOException {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> files = Files.list(runDir.resolve("pids"))) {
            for (Path file : files.toList()) {
                pids.add(Long.parseLong(Files.readString(file).trim().split("\\s+")[0]));
            }
        }
        return pids;
    }

    /** Every live process whose environment names this run folder: what `up` started inherits it. */
    private static List<String> processesWithRunDir(Path runDir) {
        byte[] marker = ("MESH_RUN_DIR=" + runDir).getBytes(StandardCharsets.UTF_8);
        List<String> found = new ArrayList<>();
        ProcessHandle.allProcesses().filter(p -> p.pid() != ProcessHandle.current().pid()).forEach(p -> {
            try {
                byte[] environ = Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "environ"));
                if (contains(environ, marker)) {
                    found.add(p.pid() + " " + p.info().commandLine().orElse("?"));
                }
            } catch (IOException | SecurityException e) {
                // The process ended, or is not ours to read.
            }
        });
        return found;
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
