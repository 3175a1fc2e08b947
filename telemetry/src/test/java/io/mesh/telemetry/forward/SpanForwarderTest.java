package io.mesh.telemetry.forward;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.mesh.telemetry.OtlpFixtures;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SpanForwarderTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<Duration> pauses = new CopyOnWriteArrayList<>();
    private final List<ExportTraceServiceRequest> received = new CopyOnWriteArrayList<>();
    private Server upstream;
    private SpanForwarder forwarder;

    /** An upstream collector that refuses the first {@code failures} calls with UNAVAILABLE. */
    private int startUpstream(int failures) throws Exception {
        AtomicInteger calls = new AtomicInteger();
        upstream = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new TraceServiceGrpc.TraceServiceImplBase() {
                    @Override
                    public void export(ExportTraceServiceRequest request,
                            StreamObserver<ExportTraceServiceResponse> observer) {
                        if (calls.incrementAndGet() <= failures) {
                            observer.onError(Status.UNAVAILABLE.withDescription("warming up").asRuntimeException());
                            return;
                        }
                        received.add(request);
                        observer.onNext(ExportTraceServiceResponse.getDefaultInstance());
                        observer.onCompleted();
                    }
                }).build().start();
        return upstream.getPort();
    }

    private SpanForwarder forwarder(int port, int capacity, int attempts) {
        forwarder = new SpanForwarder("127.0.0.1:" + port, capacity, Long.MAX_VALUE, attempts, Duration.ofMillis(100),
                Duration.ofSeconds(1), Duration.ofSeconds(10), pauses::add, registry);
        return forwarder;
    }

    private double spans(String outcome) {
        return registry.get("telemetry.forward.spans").tag("outcome", outcome).counter().count();
    }

    private static ExportTraceServiceRequest request(int spans) {
        String traceId = OtlpFixtures.randomTraceId();
        List<Span> list = new java.util.ArrayList<>();
        for (int i = 0; i < spans; i++) {
            list.add(OtlpFixtures.span(traceId, OtlpFixtures.randomSpanId(), "", "s", Span.SpanKind.SPAN_KIND_SERVER,
                    1, 1, false));
        }
        return OtlpFixtures.traces("fwd", list);
    }

    @AfterEach
    void stop() {
        if (forwarder != null) {
            forwarder.stop();
        }
        if (upstream != null) {
            upstream.shutdownNow();
        }
    }

    @Test
    void unavailableUpstreamIsRetriedWithGrowingBackoffUntilItAccepts() throws Exception {
        forwarder(startUpstream(2), 10, 5).start();
        ExportTraceServiceRequest request = request(3);
        forwarder.accept(request);
        await().atMost(Duration.ofSeconds(30)).until(() -> received.size() == 1);
        assertEquals(request, received.get(0));
        await().atMost(Duration.ofSeconds(10)).until(() -> spans("sent") == 3);
        assertEquals(2, pauses.size());
        assertTrue(pauses.get(0).toMillis() <= 100 && pauses.get(1).toMillis() <= 200
                && pauses.get(1).toMillis() >= 100, pauses.toString());
    }

    @Test
    void requestsAreDroppedAndCountedWhenRetriesRunOut() throws Exception {
        forwarder(startUpstream(Integer.MAX_VALUE), 10, 3).start();
        forwarder.accept(request(4));
        await().atMost(Duration.ofSeconds(30)).until(() -> spans("dropped_failed") == 4);
        assertEquals(2, pauses.size());
        assertEquals(0, spans("sent"));
    }

    @Test
    void theQueueIsBoundedByBytesToo() {
        ExportTraceServiceRequest request = request(2);
        forwarder = new SpanForwarder("127.0.0.1:1", 100, 2L * request.getSerializedSize() + 1, 1,
                Duration.ofMillis(1), Duration.ofMillis(1), Duration.ofSeconds(1), pauses::add, registry);
        for (int i = 0; i < 4; i++) {
            forwarder.accept(request);
        }
        assertEquals(2, forwarder.queued());
        assertEquals(4, spans("dropped_queue_full"));
    }

    @Test
    void aFullQueueDropsAndCountsWithoutBlocking() {
        // Not started: nothing drains the queue.
        forwarder(1, 2, 1);
        for (int i = 0; i < 5; i++) {
            forwarder.accept(request(2));
        }
        assertEquals(2, forwarder.queued());
        assertEquals(6, spans("dropped_queue_full"));
    }
}
