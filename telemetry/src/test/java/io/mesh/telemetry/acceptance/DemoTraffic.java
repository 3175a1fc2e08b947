package io.mesh.telemetry.acceptance;

import io.mesh.telemetry.OtlpFixtures;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Metric;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bookinfo's traffic as its sidecars would report it over OTLP/HTTP (delta points, destination reporter):
 * productpage calls details and reviews, reviews calls ratings, and a fifth of the ratings calls fail with 503.
 */
final class DemoTraffic implements AutoCloseable {

    record Call(String source, String destination, String destinationWorkload, int ok, int failed,
            double latencyMs) {
    }

    static final List<Call> BOOKINFO = List.of(
            new Call("productpage-v1", "details", "details-v1", 20, 0, 4),
            new Call("productpage-v1", "reviews", "reviews-v2", 20, 0, 30),
            new Call("reviews-v2", "ratings", "ratings-v1", 8, 2, 12));

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI endpoint;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "demo-traffic");
        thread.setDaemon(true);
        return thread;
    });
    private final AtomicLong batches = new AtomicLong();

    DemoTraffic(int otlpHttpPort) {
        this.endpoint = URI.create("http://127.0.0.1:" + otlpHttpPort + "/v1/metrics");
    }

    /** Reports one batch every {@code period} until closed. */
    DemoTraffic start(Duration period) {
        scheduler.scheduleAtFixedRate(this::reportQuietly, 0, period.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    long batches() {
        return batches.get();
    }

    void report() throws IOException, InterruptedException {
        List<Metric> metrics = new ArrayList<>();
        for (Call call : BOOKINFO) {
            String destination = call.destination() + ".default.svc.cluster.local";
            Map<String, String> labels = Map.of("reporter", "destination", "source_workload", call.source(),
                    "source_workload_namespace", "default", "destination_service", destination,
                    "destination_workload", call.destinationWorkload(), "destination_workload_namespace", "default",
                    "request_protocol", "http", "connection_security_policy", "mutual_tls");
            metrics.add(requests(labels, "200", call.ok()));
            if (call.failed() > 0) {
                metrics.add(requests(labels, "503", call.failed()));
            }
            Map<String, String> withCode = new java.util.HashMap<>(labels);
            withCode.put("response_code", "200");
            metrics.add(OtlpFixtures.durations(withCode, List.of(call.latencyMs() / 2, call.latencyMs()),
                    List.of(0L, (long) call.ok(), 0L), call.ok() * call.latencyMs(),
                    AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA));
        }
        byte[] body = OtlpFixtures.metrics(Map.of("service.name", "istio-proxy"), metrics.toArray(Metric[]::new))
                .toByteArray();
        HttpResponse<Void> response = client.send(HttpRequest.newBuilder(endpoint)
                .header("Content-Type", "application/x-protobuf").POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() != 200) {
            throw new IOException("OTLP/HTTP answered " + response.statusCode());
        }
        batches.incrementAndGet();
    }

    private static Metric requests(Map<String, String> labels, String code, long count) {
        Map<String, String> withCode = new java.util.HashMap<>(labels);
        withCode.put("response_code", code);
        return OtlpFixtures.requests(withCode, count, AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA);
    }

    private void reportQuietly() {
        try {
            report();
        } catch (IOException e) {
            // The next batch tries again; tests assert on what arrived.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
