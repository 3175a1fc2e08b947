package io.mesh.telemetry.acceptance;

import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus server (Debian's {@code prometheus}) on a free loopback port, scraping one target's /q/metrics
 * every second; its log goes to a file under {@code target/} that {@link #log} reads for failure messages.
 */
final class PrometheusServer implements AutoCloseable {
    private final Process process;
    private final Path logFile;
    private final int port;

    private PrometheusServer(Process process, Path logFile, int port) {
        this.process = process;
        this.logFile = logFile;
        this.port = port;
    }

    /** Started scraping {@code 127.0.0.1:targetPort} (rules evaluated every second too); not yet ready. */
    static PrometheusServer scraping(int targetPort) throws IOException {
        int port = FreePorts.next();
        Path dir = Files.createTempDirectory(Path.of("target"), "prometheus-");
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: telemetry
                    metrics_path: /q/metrics
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(targetPort));
        Path logFile = dir.resolve("prometheus.log");
        Process process = new ProcessBuilder("prometheus", "--config.file=" + config,
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port,
                "--log.level=warn")
                .redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
        return new PrometheusServer(process, logFile, port);
    }

    /** Its HTTP API's base URL. */
    String api() {
        return "http://127.0.0.1:" + port;
    }

    boolean alive() {
        return process.isAlive();
    }

    String log() {
        try {
            return "prometheus log:\n" + Files.readString(logFile);
        } catch (IOException e) {
            return "prometheus log unreadable: " + e;
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
