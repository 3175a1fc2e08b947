package io.mesh.telemetry.forward;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.RetryInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Forwards received spans to an upstream OTLP/gRPC collector. Receivers never wait for it: requests go through
 * a queue bounded by count and by bytes, and when it is full they are dropped and counted. One sender thread retries
 * retryable failures (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED) with exponential backoff and
 * jitter, honouring the upstream's RetryInfo, up to {@code maxAttempts}; then the request is dropped and counted.
 */
public final class SpanForwarder implements Consumer<ExportTraceServiceRequest> {

    private static final Logger LOG = Logger.getLogger(SpanForwarder.class);

    /** How a sender waits between attempts; tests may pass one that does not wait. */
    @FunctionalInterface
    public interface Pause {
        void pause(Duration duration) throws InterruptedException;
    }

    private final String endpoint;
    private final BlockingQueue<ExportTraceServiceRequest> queue;
    private final long queueMaxBytes;
    private final java.util.concurrent.atomic.AtomicLong queuedBytes = new java.util.concurrent.atomic.AtomicLong();
    private final int maxAttempts;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final Duration timeout;
    private final Pause pause;
    private final Counter sent;
    private final Counter droppedQueueFull;
    private final Counter droppedFailed;
    private final Counter retries;
    private ManagedChannel channel;
    private Thread sender;
    private volatile boolean running;

    public SpanForwarder(String endpoint, int queueCapacity, long queueMaxBytes, int maxAttempts, Duration initialBackoff,
            Duration maxBackoff, Duration timeout, Pause pause, MeterRegistry registry) {
        this.endpoint = endpoint;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.queueMaxBytes = queueMaxBytes;
        this.maxAttempts = Math.max(1, maxAttempts);
        this.initialBackoff = initialBackoff;
        this.maxBackoff = maxBackoff;
        this.timeout = timeout;
        this.pause = pause;
        this.sent = spans(registry, "sent");
        this.droppedQueueFull = spans(registry, "dropped_queue_full");
        this.droppedFailed = spans(registry, "dropped_failed");
        this.retries = Counter.builder("telemetry.forward.retries").description("Forwarding attempts retried")
                .register(registry);
        Gauge.builder("telemetry.forward.queue.requests", queue, BlockingQueue::size)
                .description("Export requests waiting to be forwarded").register(registry);
    }

    private static Counter spans(MeterRegistry registry, String outcome) {
        return Counter.builder("telemetry.forward.spans").tag("outcome", outcome)
                .description("Spans forwarded upstream, or dropped because the queue was full or retries ran out")
                .register(registry);
    }

    public synchronized void start() {
        channel = NettyChannelBuilder.forTarget(endpoint).usePlaintext().build();
        running = true;
        sender = new Thread(this::sendLoop, "otlp-forwarder");
        sender.setDaemon(true);
        sender.start();
    }

    public synchronized void stop() {
        running = false;
        if (sender != null) {
            sender.interrupt();
        }
        if (channel != null) {
            channel.shutdownNow();
        }
    }

    /** Queues a request for forwarding, or drops and counts it when the queue is full. Never blocks. */
    @Override
    public void accept(ExportTraceServiceRequest request) {
        long size = request.getSerializedSize();
        if (queuedBytes.addAndGet(size) > queueMaxBytes || !queue.offer(request)) {
            queuedBytes.addAndGet(-size);
            droppedQueueFull.increment(spanCount(request));
        }
    }

    private void sendLoop() {
        TraceServiceGrpc.TraceServiceBlockingStub stub = TraceServiceGrpc.newBlockingStub(channel);
        while (running) {
            ExportTraceServiceRequest request;
            try {
                request = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            queuedBytes.addAndGet(-request.getSerializedSize());
            try {
                send(stub, request);
            } catch (InterruptedException e) {
                droppedFailed.increment(spanCount(request));
                return;
            }
        }
    }

    private void send(TraceServiceGrpc.TraceServiceBlockingStub stub, ExportTraceServiceRequest request)
            throws InterruptedException {
        Duration backoff = initialBackoff;
        for (int attempt = 1; ; attempt++) {
            try {
                stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).export(request);
                sent.increment(spanCount(request));
                return;
            } catch (StatusRuntimeException e) {
                if (!retryable(e.getStatus().getCode()) || attempt >= maxAttempts) {
                    LOG.debugf("dropping %d spans after %d attempts: %s", spanCount(request), attempt, e.getStatus());
                    droppedFailed.increment(spanCount(request));
                    return;
                }
                retries.increment();
                Duration delay = retryDelay(e).orElse(jitter(backoff));
                pause.pause(delay);
                backoff = backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
            }
        }
    }

    private static boolean retryable(Status.Code code) {
        return code == Status.Code.UNAVAILABLE || code == Status.Code.RESOURCE_EXHAUSTED
                || code == Status.Code.DEADLINE_EXCEEDED || code == Status.Code.ABORTED
                || code == Status.Code.CANCELLED || code == Status.Code.OUT_OF_RANGE || code == Status.Code.DATA_LOSS;
    }

    private java.util.Optional<Duration> retryDelay(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        if (status == null) {
            return java.util.Optional.empty();
        }
        for (com.google.protobuf.Any detail : status.getDetailsList()) {
            if (detail.is(RetryInfo.class)) {
                try {
                    com.google.protobuf.Duration d = detail.unpack(RetryInfo.class).getRetryDelay();
                    Duration delay = Duration.ofSeconds(d.getSeconds(), d.getNanos());
                    return java.util.Optional.of(delay.compareTo(maxBackoff) > 0 ? maxBackoff : delay);
                } catch (InvalidProtocolBufferException ignored) {
                    return java.util.Optional.empty();
                }
            }
        }
        return java.util.Optional.empty();
    }

    private static Duration jitter(Duration backoff) {
        long millis = Math.max(1, backoff.toMillis());
        return Duration.ofMillis(millis / 2 + ThreadLocalRandom.current().nextLong(millis / 2 + 1));
    }

    static long spanCount(ExportTraceServiceRequest request) {
        long n = 0;
        for (ResourceSpans rs : request.getResourceSpansList()) {
            for (ScopeSpans ss : rs.getScopeSpansList()) {
                n += ss.getSpansCount();
            }
        }
        return n;
    }

    public int queued() {
        return queue.size();
    }
}
