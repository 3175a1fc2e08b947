import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.Sum;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The telemetry benchmark's OTLP load generator, run in its own process:
 *   java -cp <opentelemetry-proto and protobuf jars> bench/telemetry-load.java \
 *        <traces|metrics> <http://host:port> <threads> <seconds> <items_per_s or 0 for max> <batch>
 * It posts pre-built OTLP/HTTP protobuf export requests (traces: <batch> spans each; metrics: <batch> Istio data
 * points each) and prints one line: "sent=<items> accepted=<items> throttled=<requests> failed=<requests>
 * seconds=<s>". A fixed rate is paced per thread; 0 sends as fast as answers come back.
 */
public final class TelemetryLoad {

    public static void main(String[] args) throws Exception {
        String signal = args[0];
        URI uri = URI.create(args[1] + (signal.equals("traces") ? "/v1/traces" : "/v1/metrics"));
        int threads = Integer.parseInt(args[2]);
        int seconds = Integer.parseInt(args[3]);
        double rate = Double.parseDouble(args[4]);
        int batch = Integer.parseInt(args[5]);

        List<byte[]> bodies = new ArrayList<>();
        Random random = new Random(42);
        for (int i = 0; i < 64; i++) {
            bodies.add(signal.equals("traces") ? traces(random, batch) : metrics(i, batch));
        }
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        AtomicLong sent = new AtomicLong();
        AtomicLong accepted = new AtomicLong();
        AtomicLong throttled = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        // Each thread sends one batch every interval to make up the target rate together.
        long intervalNanos = rate > 0 ? (long) (1e9 * batch * threads / rate) : 0;
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread worker = new Thread(() -> {
                long next = System.nanoTime() + (intervalNanos > 0 ? intervalNanos * thread / threads : 0);
                int n = thread;
                while (System.nanoTime() < end) {
                    if (intervalNanos > 0) {
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(wait);
                        }
                        next += intervalNanos;
                    }
                    byte[] body = bodies.get(n++ % bodies.size());
                    sent.addAndGet(batch);
                    try {
                        HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(uri)
                                .header("Content-Type", "application/x-protobuf")
                                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
                        if (response.statusCode() == 200) {
                            accepted.addAndGet(batch);
                        } else if (response.statusCode() == 429) {
                            throttled.incrementAndGet();
                        } else {
                            failed.incrementAndGet();
                        }
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    }
                }
                done.countDown();
            });
            worker.setDaemon(true);
            worker.start();
        }
        done.await();
        double elapsed = (System.nanoTime() - start) / 1e9;
        System.out.printf("sent=%d accepted=%d throttled=%d failed=%d seconds=%.2f%n", sent.get(), accepted.get(),
                throttled.get(), failed.get(), elapsed);
    }

    private static KeyValue attribute(String key, String value) {
        return KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setStringValue(value)).build();
    }

    private static ByteString id(Random random, int bytes) {
        byte[] id = new byte[bytes];
        random.nextBytes(id);
        return ByteString.copyFrom(id);
    }

    /** One batch of traces of 8 spans each, across 4 services, the way an app's SDK batches them. */
    private static byte[] traces(Random random, int batch) {
        ExportTraceServiceRequest.Builder request = ExportTraceServiceRequest.newBuilder();
        String[] services = {"productpage", "reviews", "ratings", "details"};
        for (String service : services) {
            ScopeSpans.Builder scope = ScopeSpans.newBuilder();
            for (int i = 0; i < batch / services.length; i++) {
                long startNanos = 1_700_000_000_000_000_000L + random.nextInt(1_000_000_000);
                scope.addSpans(Span.newBuilder().setTraceId(id(random, 16)).setSpanId(id(random, 8))
                        .setParentSpanId(i % 8 == 0 ? ByteString.EMPTY : id(random, 8))
                        .setName("GET /api/" + service).setKind(Span.SpanKind.SPAN_KIND_SERVER)
                        .setStartTimeUnixNano(startNanos).setEndTimeUnixNano(startNanos + random.nextInt(50_000_000))
                        .addAttributes(attribute("http.request.method", "GET"))
                        .addAttributes(attribute("url.path", "/api/" + service + "/" + i))
                        .addAttributes(attribute("http.response.status_code", "200")));
            }
            request.addResourceSpans(ResourceSpans.newBuilder()
                    .setResource(Resource.newBuilder().addAttributes(attribute("service.name", service)))
                    .addScopeSpans(scope));
        }
        return request.build().toByteArray();
    }

    /** One batch of Istio data points (delta counters and duration histograms) over 200 label sets. */
    private static byte[] metrics(int seed, int batch) {
        ScopeMetrics.Builder scope = ScopeMetrics.newBuilder();
        for (int i = 0; i < batch / 2; i++) {
            int edge = (seed * 31 + i) % 200;
            List<KeyValue> labels = List.of(attribute("reporter", "destination"),
                    attribute("source_workload", "client-" + edge % 20),
                    attribute("destination_service", "svc-" + edge / 20 + ".default.svc.cluster.local"),
                    attribute("destination_workload", "svc-" + edge / 20 + "-v1"),
                    attribute("response_code", edge % 17 == 0 ? "503" : "200"));
            scope.addMetrics(Metric.newBuilder().setName("istio.requests").setSum(Sum.newBuilder()
                    .setIsMonotonic(true).setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                    .addDataPoints(NumberDataPoint.newBuilder().addAllAttributes(labels).setAsInt(10))));
            scope.addMetrics(Metric.newBuilder().setName("istio.request.duration").setUnit("ms").setHistogram(
                    Histogram.newBuilder().setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                            .addDataPoints(HistogramDataPoint.newBuilder().addAllAttributes(labels)
                                    .addAllExplicitBounds(List.of(5.0, 10.0, 25.0, 50.0))
                                    .addAllBucketCounts(List.of(2L, 4L, 2L, 1L, 1L)).setCount(10).setSum(180))));
        }
        return ExportMetricsServiceRequest.newBuilder().addResourceMetrics(ResourceMetrics.newBuilder()
                .setResource(Resource.newBuilder().addAttributes(attribute("service.name", "istio-proxy")))
                .addScopeMetrics(scope)).build().toByteArray();
    }
}
