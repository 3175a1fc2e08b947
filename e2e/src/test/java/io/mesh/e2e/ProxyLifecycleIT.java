package io.mesh.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The proxy's lifecycle as istio-agent gives it, on the packaged gateway run as a process (a static bootstrap: one
 * listener to a backend whose {@code /slow} answers only when the test lets it), driven with curl and signals:
 * {@code POST /quitquitquit} (a Job's main container done), SIGTERM with {@code TERMINATION_DRAIN_DURATION_SECONDS},
 * {@code EXIT_ON_ZERO_ACTIVE_CONNECTIONS}, and {@code POST /drain} (a native sidecar's preStop hook). Timings are asserted only as order and generous bounds.
 */
class ProxyLifecycleIT {

    @RegisterExtension
    final ProcessHarness harness = new ProcessHarness().named("proxy-lifecycle");

    private HttpServer backend;
    private volatile CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch arrived = new CountDownLatch(1);
    private int listenerPort;
    private int statusPort;

    @BeforeEach
    void backend() throws IOException {
        backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        backend.setExecutor(Executors.newCachedThreadPool());
        backend.createContext("/", exchange -> {
            if (exchange.getRequestURI().getPath().equals("/slow")) {
                arrived.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] body = ("served " + exchange.getRequestURI().getPath() + "\n").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        backend.start();
    }

    @AfterEach
    void stopBackend() {
        release.countDown();
        backend.stop(0);
    }

    @Test
    void quitquitquitFromLoopbackFinishesTheRequestInFlightThenExitsZero() throws Exception {
        // A long drain duration: /quitquitquit does not wait it out once nothing is in flight.
        RunningComponent gateway = start(Map.of("TERMINATION_DRAIN_DURATION_SECONDS", "120", "QUARKUS_HTTP_HOST", "0.0.0.0"));
        String quit = "http://127.0.0.1:" + gateway.monitoringPort() + "/quitquitquit";
        assertRefusesGetAndOtherHosts(gateway, "/quitquitquit");
        assertTrue(gateway.process().isAlive(), "refused calls leave the proxy running");

        CompletableFuture<String> inFlight = slowRequest();
        assertTrue(arrived.await(30, TimeUnit.SECONDS), "the slow request reached the backend");
        // As a Job's container calls it (istio's documented command).
        Process jobCurl = new ProcessBuilder("curl", "-fsI", "-X", "POST", quit).redirectErrorStream(true).start();
        assertEquals(0, jobCurl.waitFor(30, TimeUnit.SECONDS) ? jobCurl.exitValue() : -1, "curl -fsI -X POST succeeds");
        await().atMost(Duration.ofSeconds(30)).until(() -> readiness().equals("503"));
        assertTrue(gateway.process().isAlive(), "the proxy waits for the request in flight");

        release.countDown();
        assertEquals("200 served /slow", inFlight.get(30, TimeUnit.SECONDS).trim());
        assertEquals(0, gateway.process().awaitExit(Duration.ofSeconds(60)), "exit code 0, long before the 120 s duration");
    }

    @Test
    void sigtermWithADrainDurationServesTheRequestInFlightThenExitsAfterTheDuration() throws Exception {
        RunningComponent gateway = start(Map.of("TERMINATION_DRAIN_DURATION_SECONDS", "4"));
        CompletableFuture<String> inFlight = slowRequest();
        assertTrue(arrived.await(30, TimeUnit.SECONDS), "the slow request reached the backend");

        long signalled = System.nanoTime();
        ProcessHandle.of(gateway.process().pid()).orElseThrow().destroy();   // SIGTERM
        await().atMost(Duration.ofSeconds(30)).until(() -> readiness().equals("503"));
        assertNotEquals("200", curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                "http://127.0.0.1:" + listenerPort + "/fast"), "a new connection is not served while draining");

        release.countDown();
        assertEquals("200 served /slow", inFlight.get(30, TimeUnit.SECONDS).trim(), "the request in flight finishes");
        assertTrue(gateway.process().isAlive(), "idle, the proxy still waits out the drain duration");
        gateway.process().awaitExit(Duration.ofSeconds(60));
        long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
        assertTrue(elapsed >= 4000, "exited after the 4 s drain duration, not before: " + elapsed + " ms");
    }

    @Test
    void exitOnZeroActiveConnectionsExitsOnceTheLastConnectionCloses() throws Exception {
        RunningComponent gateway = start(Map.of("TERMINATION_DRAIN_DURATION_SECONDS", "120",
                "EXIT_ON_ZERO_ACTIVE_CONNECTIONS", "true", "MINIMUM_DRAIN_DURATION", "1s"));
        CompletableFuture<String> inFlight = slowRequest();
        assertTrue(arrived.await(30, TimeUnit.SECONDS), "the slow request reached the backend");

        ProcessHandle.of(gateway.process().pid()).orElseThrow().destroy();   // SIGTERM
        // Past the minimum drain, the proxy checks the connections and stays for the one left.
        await().atMost(Duration.ofSeconds(30)).until(() -> gateway.process().logTail(200)
                .contains("1 active downstream connections left"));
        assertTrue(gateway.process().isAlive());

        release.countDown();
        assertEquals("200 served /slow", inFlight.get(30, TimeUnit.SECONDS).trim());
        gateway.process().awaitExit(Duration.ofSeconds(60));   // long before the 120 s duration
        assertTrue(gateway.process().logTail(200).contains("no active downstream connection left"),
                gateway.process().logTail(40));
    }

    @Test
    void drainFromLoopbackStartsTheDrainWithoutExitingAndTheNextSigtermExitsAtOnce() throws Exception {
        // A long drain duration: after POST /drain, SIGTERM does not wait it out (istio-agent's "already drained").
        RunningComponent gateway = start(Map.of("TERMINATION_DRAIN_DURATION_SECONDS", "120", "QUARKUS_HTTP_HOST", "0.0.0.0"));
        String drain = "http://127.0.0.1:" + gateway.monitoringPort() + "/drain";
        assertRefusesGetAndOtherHosts(gateway, "/drain");
        assertEquals("200", readiness(), "refused calls start no drain");
        assertEquals("200", curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                "http://127.0.0.1:" + listenerPort + "/fast"));

        // What Istio's preStop hook sends (pilot-agent request POST drain).
        assertEquals("OK", curl("-s", "-X", "POST", drain));
        await().atMost(Duration.ofSeconds(30)).until(() -> readiness().equals("503"));
        assertNotEquals("200", curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                "http://127.0.0.1:" + listenerPort + "/fast"), "a router's listeners drain: no new request is served");
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> gateway.process().isAlive());

        long signalled = System.nanoTime();
        ProcessHandle.of(gateway.process().pid()).orElseThrow().destroy();   // SIGTERM
        gateway.process().awaitExit(Duration.ofSeconds(60));
        long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
        assertTrue(elapsed < 30_000, "exited at once, not after the 120 s drain duration: " + elapsed + " ms");
        assertTrue(gateway.process().logTail(200).contains("already drained (POST /drain), exiting at once"),
                gateway.process().logTail(40));
    }

    @Test
    void sigtermInASidecarDrainsTheInboundCaptureWhileTheAppStillCallsOutUntilTheDurationEnds() throws Exception {
        PodNamespace.requireRoot();
        int outbound = FreePorts.next();
        int inbound = FreePorts.next();
        int service = FreePorts.next();
        int backendPort = backend.getAddress().getPort();
        try (PodNamespace app = PodNamespace.create(outbound); PodNamespace callers = PodNamespace.create(inbound)) {
            RunningComponent gateway = start(Map.of("TERMINATION_DRAIN_DURATION_SECONDS", "4", "MESH_GATEWAY_MODE", "sidecar"),
                    sidecarBootstrap(outbound, inbound, service, backendPort));
            String out = "http://" + app.destinations.get(0) + ":" + service + "/fast";
            String in = "http://" + callers.destinations.get(0) + ":" + backendPort + "/fast";
            assertEquals("200", app.curlStatus(out), "the app calls out through the outbound capture");
            assertEquals("200", callers.curlStatus(in), "callers reach the app through the inbound capture");

            long signalled = System.nanoTime();
            ProcessHandle.of(gateway.process().pid()).orElseThrow().destroy();   // SIGTERM
            await().atMost(Duration.ofSeconds(30)).until(() -> readiness().equals("503"));
            assertEquals("000", callers.curlStatus(in), "the inbound side takes no new connection");
            assertEquals("200", app.curlStatus(out), "a new outbound call is still served while the sidecar drains");
            assertTrue(gateway.process().isAlive());
            gateway.process().awaitExit(Duration.ofSeconds(60));
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
            assertTrue(elapsed >= 4000, "exited after the 4 s drain duration, not before: " + elapsed + " ms");
        }
    }

    /** istio-agent's rules for its POST endpoints: GET is 405, a caller not on a loopback address 403. */
    private void assertRefusesGetAndOtherHosts(RunningComponent gateway, String path) throws Exception {
        assertEquals("405", curl("-s", "-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:" + gateway.monitoringPort() + path), "GET is refused");
        Optional<InetAddress> external = nonLoopbackAddress();
        if (external.isPresent()) {
            String host = external.get().getHostAddress();
            String url = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + gateway.monitoringPort() + path;
            assertEquals("403", curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url),
                    "a caller that is not on a loopback address is refused");
        }
    }

    private RunningComponent start(Map<String, String> extra) throws IOException {
        listenerPort = FreePorts.next();
        return start(extra, bootstrap(listenerPort, backend.getAddress().getPort()));
    }

    private RunningComponent start(Map<String, String> extra, String bootstrapJson) throws IOException {
        statusPort = FreePorts.next();
        Path bootstrap = harness.workDir().resolve("bootstrap-" + statusPort + ".json");
        Files.createDirectories(bootstrap.getParent());
        Files.writeString(bootstrap, bootstrapJson);
        Map<String, String> env = new HashMap<>(extra);
        env.put("MESH_GATEWAY_XDS_ENABLED", "false");
        env.put("MESH_GATEWAY_BOOTSTRAP_FILE", bootstrap.toString());
        env.put("MESH_GATEWAY_STATUS_PORT", Integer.toString(statusPort));
        env.put("MESH_GATEWAY_ADMIN_PORT", "-1");
        RunningComponent gateway = harness.start(Component.GATEWAY, env);
        await().atMost(Duration.ofSeconds(60)).until(() -> readiness().equals("200"));
        return gateway;
    }

    private String readiness() throws Exception {
        return curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                "http://127.0.0.1:" + statusPort + "/healthz/ready");
    }

    /** GET /slow through the gateway with curl, in the background: "CODE BODY". */
    private CompletableFuture<String> slowRequest() {
        String url = "http://127.0.0.1:" + listenerPort + "/slow";
        return CompletableFuture.supplyAsync(() -> {
            try {
                String out = curl("-s", "--max-time", "60", "-w", "\\n%{http_code}", url);
                int nl = out.lastIndexOf('\n');
                return out.substring(nl + 1) + " " + out.substring(0, Math.max(0, nl)).trim();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static String curl(String... args) throws Exception {
        Process p = new ProcessBuilder(concat("curl", args)).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("curl timed out");
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static List<String> concat(String first, String... rest) {
        List<String> all = new java.util.ArrayList<>();
        all.add(first);
        all.addAll(List.of(rest));
        return all;
    }

    private static Optional<InetAddress> nonLoopbackAddress() throws IOException {
        for (NetworkInterface nif : java.util.Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isUp() || nif.isLoopback()) {
                continue;
            }
            for (InetAddress a : java.util.Collections.list(nif.getInetAddresses())) {
                if (a instanceof java.net.Inet4Address && !a.isLoopbackAddress()) {
                    return Optional.of(a);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * A sidecar's config as pilot would send it, static: the outbound capture (its own chain a black hole), the
     * service's HTTP port {@code service} (not bound) to the backend, and the inbound capture with the app's port (the
     * backend's) to the app on 127.0.0.1. The captures listen on free ports, where the pods' iptables rules send.
     */
    private static String sidecarBootstrap(int outbound, int inbound, int service, int backendPort) {
        String originalDst = """
                "listener_filters": [{ "name": "envoy.filters.listener.original_dst", "typed_config": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst" } }]""";
        return """
                { "static_resources": {
                  "listeners": [
                    { "name": "virtualOutbound", "address": { "socket_address": { "address": "0.0.0.0", "port_value": %d } },
                      "use_original_dst": true, %s,
                      "filter_chains": [{ "name": "BlackHole", "filters": [{ "name": "envoy.filters.network.tcp_proxy",
                        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                          "stat_prefix": "BlackHoleCluster", "cluster": "BlackHoleCluster" } }] }] },
                    { "name": "0.0.0.0_%d", "address": { "socket_address": { "address": "0.0.0.0", "port_value": %d } },
                      "bind_to_port": false, "filter_chains": [{ "filters": [%s] }] },
                    { "name": "virtualInbound", "address": { "socket_address": { "address": "0.0.0.0", "port_value": %d } }, %s,
                      "filter_chains": [{ "filter_chain_match": { "destination_port": %d, "transport_protocol": "raw_buffer" },
                        "filters": [%s] }] }],
                  "clusters": [%s, %s,
                    { "name": "BlackHoleCluster", "type": "STATIC", "connect_timeout": "1s",
                      "load_assignment": { "cluster_name": "BlackHoleCluster" } }] } }
                """.formatted(outbound, originalDst, service, service, hcm("outbound", "svc"), inbound, originalDst,
                backendPort, hcm("inbound", "inbound|" + backendPort + "||"), cluster("svc", backendPort),
                cluster("inbound|" + backendPort + "||", backendPort));
    }

    private static String hcm(String prefix, String cluster) {
        return """
                { "name": "envoy.filters.network.http_connection_manager",
                  "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "%s",
                    "route_config": { "name": "%s", "virtual_hosts": [{ "name": "all", "domains": ["*"],
                      "routes": [{ "match": { "prefix": "/" }, "route": { "cluster": "%s", "timeout": "0s" } }] }] },
                    "http_filters": [{ "name": "envoy.filters.http.router",
                      "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }] } }
                """.formatted(prefix, cluster, cluster);
    }

    private static String cluster(String name, int port) {
        return """
                { "name": "%s", "type": "STATIC", "connect_timeout": "1s",
                  "load_assignment": { "cluster_name": "%s", "endpoints": [{ "lb_endpoints": [
                    { "endpoint": { "address": { "socket_address": { "address": "127.0.0.1", "port_value": %d } } } }] }] } }
                """.formatted(name, name, port);
    }

    private static String bootstrap(int port, int backendPort) {
        return """
                { "static_resources": {
                  "listeners": [{ "name": "lifecycle", "address": { "socket_address": { "address": "127.0.0.1", "port_value": %d } },
                    "filter_chains": [{ "filters": [{ "name": "envoy.filters.network.http_connection_manager",
                      "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "lifecycle",
                        "route_config": { "name": "lifecycle", "virtual_hosts": [{ "name": "all", "domains": ["*"],
                          "routes": [{ "match": { "prefix": "/" }, "route": { "cluster": "backend", "timeout": "0s" } }] }] },
                        "http_filters": [{ "name": "envoy.filters.http.router",
                          "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }] } }] }] }],
                  "clusters": [{ "name": "backend", "type": "STATIC", "connect_timeout": "1s",
                    "load_assignment": { "cluster_name": "backend", "endpoints": [{ "lb_endpoints": [
                      { "endpoint": { "address": { "socket_address": { "address": "127.0.0.1", "port_value": %d } } } }] }] } }] } }
                """.formatted(port, backendPort);
    }
}
