package io.mesh.gateway.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.SelfSignedCertificate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * The app next to the sidecar: a JDK HTTP server with metrics and health endpoints whose answers the test switches,
 * and a grpc-java server with the standard health service.
 */
final class TestApp {

    enum Metrics { TEXT, OPEN_METRICS, CLASHING, FAILING, HANGING }

    static final String TEXT = """
            # HELP app_orders_total Orders taken by the app.
            # TYPE app_orders_total counter
            app_orders_total{shop="north"} 7
            # HELP app_queue_depth Items waiting.
            # TYPE app_queue_depth gauge
            app_queue_depth 3
            """;

    static final String OPEN_METRICS = """
            # TYPE app_jobs counter
            # HELP app_jobs Jobs done, with a "quoted" help.
            app_jobs_total{kind="a{b} # c"} 5 # {trace_id="abc"} 1.0 1700000000.5
            app_jobs_created{kind="a{b} # c"} 1.7e+09
            # TYPE app_build info
            # HELP app_build Build of the app.
            app_build_info{version="1.2"} 1
            # TYPE app_temperature_celsius gauge
            # UNIT app_temperature_celsius celsius
            # HELP app_temperature_celsius Temperature.
            app_temperature_celsius 21.5 1700000000.250
            # EOF
            """;

    final HttpServer http;
    final Server grpc;
    final HealthStatusManager health = new HealthStatusManager();
    volatile Metrics metrics = Metrics.TEXT;
    volatile boolean healthy = true;

    TestApp(int httpPort, int grpcPort, int httpsPort) {
        // An HTTPS app with a self-signed certificate, which the sidecar must not verify (as the kubelet does not).
        SelfSignedCertificate cert = SelfSignedCertificate.create("app.local");
        Vertx.vertx().createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(cert.keyCertOptions()))
                .requestHandler(req -> req.response().setStatusCode(healthy ? 200 : 500).end("tls " + req.isSSL()))
                .listen(httpsPort, "127.0.0.1").toCompletionStage().toCompletableFuture().join();
        try {
            http = HttpServer.create(new InetSocketAddress("127.0.0.1", httpPort), 64);
            http.setExecutor(Executors.newFixedThreadPool(8));
            http.createContext("/metrics", this::metrics);
            // Healthy only with the probe's own header, which the sidecar must send.
            http.createContext("/healthz", ex -> answer(ex, healthy && "kubelet".equals(ex.getRequestHeaders().getFirst("X-Probe"))
                    ? 200 : 503, "text/plain", "host " + ex.getRequestHeaders().getFirst("Host")));
            http.createContext("/moved", ex -> {
                ex.getResponseHeaders().add("Location", "http://elsewhere.example/");
                answer(ex, 302, "text/plain", "");
            });
            http.createContext("/slow", ex -> {
                sleep(3000);
                answer(ex, 200, "text/plain", "late");
            });
            http.start();
            grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", grpcPort))
                    .addService(health.getHealthService()).build().start();
            health.setStatus("", ServingStatus.SERVING);
            health.setStatus("orders", ServingStatus.NOT_SERVING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void metrics(HttpExchange ex) throws IOException {
        switch (metrics) {
            case TEXT -> answer(ex, 200, "text/plain; version=0.0.4; charset=utf-8", TEXT);
            case OPEN_METRICS -> answer(ex, 200, "application/openmetrics-text; version=1.0.0; charset=utf-8", OPEN_METRICS);
            case CLASHING -> answer(ex, 200, "text/plain; version=0.0.4", TEXT + """
                    # HELP jvm_threads_live_threads The app's own JVM threads.
                    # TYPE jvm_threads_live_threads gauge
                    jvm_threads_live_threads 42
                    """);
            case FAILING -> answer(ex, 503, "text/plain", "down");
            case HANGING -> {
                sleep(3000);
                answer(ex, 200, "text/plain", TEXT);
            }
        }
    }

    private static void answer(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (var out = ex.getResponseBody()) {
            out.write(bytes);
        } catch (IOException e) {
            // the sidecar gave up waiting (timeouts are under test)
        }
    }

    /** The app being slow on purpose (a probe or scrape timeout is under test), not a test waiting for an outcome. */
    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
