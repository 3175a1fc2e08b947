package io.mesh.pilot;

import static io.mesh.pilot.testing.Checks.assertBetween;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.testing.grpc.NamedGrpcBackend;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The acceptance test: the packaged pilot (target/quarkus-app) runs as its own process in local mode, and a
 * proxyless grpc-java client bootstrapped at it dials "xds:///web.demo.svc.cluster.local:80".
 */
class PackagedPilotCanaryIT {
    static final Path WORK = Path.of("target", "packaged-pilot-it");
    static Process pilot;
    static int xdsPort;
    static int monitoringPort;
    static Path configDir;
    static NamedGrpcBackend web;
    static NamedGrpcBackend backend;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void startPilot() throws Exception {
        Files.createDirectories(WORK);
        configDir = Files.createTempDirectory(WORK.toAbsolutePath(), "config");
        web = new NamedGrpcBackend("web");
        backend = new NamedGrpcBackend("backend");
        write("services.yaml", MeshFixtures.serviceEntry("web", "", web.port()) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", backend.port()));
        write("web-vs.yaml", MeshFixtures.canary(50, 50));
        xdsPort = FreePorts.next();
        monitoringPort = FreePorts.next();
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-Xmx128m", "-jar", "target/quarkus-app/quarkus-run.jar")
                .redirectErrorStream(true).redirectOutput(WORK.resolve("pilot.log").toFile());
        pb.environment().putAll(Map.of("MESH_MODE", "local", "MESH_PILOT_CONFIG_DIR", configDir.toString(),
                "MESH_PILOT_XDS_PORT", Integer.toString(xdsPort), "MESH_PILOT_MONITORING_PORT",
                Integer.toString(monitoringPort), "QUARKUS_HTTP_HOST", "127.0.0.1"));
        pilot = pb.start();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> !pilot.isAlive() || get("/q/health/ready").statusCode() == 200);
        assertTrue(pilot.isAlive(), "pilot exited: " + Files.readString(WORK.resolve("pilot.log")));
        // grpc-java reads its bootstrap once per JVM, before the first xds:/// channel.
        System.setProperty("io.grpc.xds.bootstrapConfig", MeshFixtures.bootstrapJson(xdsPort, "it-canary-client"));
    }

    @AfterAll
    static void stopPilot() throws Exception {
        if (pilot != null) {
            pilot.destroy();
            if (!pilot.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                pilot.destroyForcibly();
            }
        }
        if (web != null) {
            web.close();
            backend.close();
        }
    }

    static void write(String file, String yaml) throws IOException {
        Path tmp = configDir.resolve("." + file + ".tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, configDir.resolve(file), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static HttpResponse<String> get(String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitoringPort + path)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return new FailedResponse();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new FailedResponse();
        }
    }

    @Test
    void proxylessClientSplits5050ThenReRoutes9010WithinTwoSeconds() throws Exception {
        ManagedChannel channel = Grpc.newChannelBuilder("xds:///web.demo.svc.cluster.local:80",
                InsecureChannelCredentials.create()).build();
        try {
            NamedGrpcBackend.warmUp(channel);
            Map<String, Integer> first = NamedGrpcBackend.count(channel, 1000);
            assertBetween(first.getOrDefault("backend", 0), 450, 550, "backend at 50% " + first);
            assertBetween(first.getOrDefault("web", 0), 450, 550, "web at 50% " + first);

            long t0 = System.nanoTime();
            write("web-vs.yaml", MeshFixtures.canary(90, 10));
            await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                    .until(() -> NamedGrpcBackend.count(channel, 50).getOrDefault("backend", 0) >= 40);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            Map<String, Integer> second = NamedGrpcBackend.count(channel, 1000);
            assertBetween(second.getOrDefault("backend", 0), 850, 950, "backend at 90% " + second);
            assertBetween(second.getOrDefault("web", 0), 50, 150, "web at 10% " + second);
            assertTrue(took.compareTo(Duration.ofSeconds(2)) < 0, "re-routed in " + took);

            // The client ACKed everything it was sent, and /debug/syncz says so.
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                String syncz = get("/debug/syncz").body();
                return syncz.contains("it-canary-client") && !syncz.contains("NACKED") && !syncz.contains("STALE");
            });
            String metrics = get("/q/metrics").body();
            assertTrue(metrics.contains("pilot_xds 1.0"), "one connected client in pilot_xds");
            assertEquals(200, get("/debug/config_dump?proxyID=it-canary-client").statusCode());
        } finally {
            channel.shutdownNow();
        }
    }

    /** What {@link #get} returns while nothing listens yet. */
    static final class FailedResponse implements HttpResponse<String> {
        public int statusCode() {
            return 0;
        }

        public HttpRequest request() {
            return null;
        }

        public java.util.Optional<HttpResponse<String>> previousResponse() {
            return java.util.Optional.empty();
        }

        public java.net.http.HttpHeaders headers() {
            return java.net.http.HttpHeaders.of(Map.of(), (a, b) -> true);
        }

        public String body() {
            return "";
        }

        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() {
            return java.util.Optional.empty();
        }

        public URI uri() {
            return null;
        }

        public HttpClient.Version version() {
            return HttpClient.Version.HTTP_1_1;
        }
    }
}
