package io.mesh.telemetry.ingest;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.Code;
import com.google.rpc.RetryInfo;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.mesh.common.concurrent.DaemonThreads;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * OTLP/gRPC: opentelemetry-proto's TraceService and MetricsService on a plain grpc-java server. Requests arrive
 * as raw bytes and are decoded here, so that a malformed message is INVALID_ARGUMENT (grpc-java would say
 * INTERNAL) and the in-flight bound is taken before decoding. Oversized messages are refused by grpc-java
 * itself with RESOURCE_EXHAUSTED; overload is UNAVAILABLE with a RetryInfo, as OTLP's throttling asks.
 */
public final class OtlpGrpcReceiver {

    private static final Logger LOG = Logger.getLogger(OtlpGrpcReceiver.class);
    /**
     * grpc-java buffers a whole message before the handler (and so the in-flight bound) sees it; this caps that
     * buffering at this many max-size messages per connection. Exporters send one or a few requests at a time.
     */
    private static final int MAX_CONCURRENT_CALLS_PER_CONNECTION = 16;

    private final OtlpIngest ingest;
    private final IngestLimiter limiter;
    private final ReceiverMetrics receiverMetrics;
    private final int maxRequestBytes;
    private final java.time.Duration retryAfter;
    private Server server;
    private ExecutorService executor;

    public OtlpGrpcReceiver(OtlpIngest ingest, IngestLimiter limiter, ReceiverMetrics receiverMetrics,
            int maxRequestBytes, java.time.Duration retryAfter) {
        this.ingest = ingest;
        this.limiter = limiter;
        this.receiverMetrics = receiverMetrics;
        this.maxRequestBytes = maxRequestBytes;
        this.retryAfter = retryAfter;
    }

    public synchronized void start(String host, int port) {
        // Handlers only decode and ingest in memory; a small fixed pool is enough and bounds threads.
        executor = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                DaemonThreads.numbered("otlp-grpc"));
        ServerServiceDefinition traces = service(TraceServiceGrpc.SERVICE_NAME, TraceServiceGrpc.getExportMethod(),
                bytes -> ingest.traces(parse(bytes, ExportTraceServiceRequest.parser())),
                ExportTraceServiceResponse.getDefaultInstance(), "traces");
        ServerServiceDefinition metrics = service(MetricsServiceGrpc.SERVICE_NAME,
                MetricsServiceGrpc.getExportMethod(),
                bytes -> ingest.metrics(parse(bytes, ExportMetricsServiceRequest.parser())),
                ExportMetricsServiceResponse.getDefaultInstance(), "metrics");
        try {
            server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                    .executor(executor)
                    .maxInboundMessageSize(maxRequestBytes)
                    .maxConcurrentCallsPerConnection(MAX_CONCURRENT_CALLS_PER_CONNECTION)
                    .addService(traces)
                    .addService(metrics)
                    .build()
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen for OTLP/gRPC on " + host + ":" + port, e);
        }
    }

    public synchronized int port() {
        return server == null ? -1 : server.getPort();
    }

    public synchronized void stop() {
        if (server != null) {
            server.shutdown();
            try {
                if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                    server.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                server.shutdownNow();
            }
            executor.shutdownNow();
            server = null;
        }
    }

    private <Q, R extends com.google.protobuf.Message> ServerServiceDefinition service(String serviceName,
            MethodDescriptor<Q, R> method, Function<byte[], R> handler, R responsePrototype, String signal) {
        MethodDescriptor<byte[], R> raw = method.toBuilder(RawBytes.INSTANCE, ProtoUtils.marshaller(responsePrototype))
                .build();
        return ServerServiceDefinition.builder(serviceName)
                .addMethod(raw, ServerCalls.asyncUnaryCall((byte[] bytes, StreamObserver<R> observer) ->
                        handle(bytes, observer, handler, signal)))
                .build();
    }

    private <R> void handle(byte[] bytes, StreamObserver<R> observer, Function<byte[], R> handler, String signal) {
        // Even an empty request holds a byte, so a full limiter refuses everything.
        long reserved = bytes.length + 1L;
        if (!limiter.tryAcquire(reserved)) {
            receiverMetrics.request("grpc", signal, "throttled");
            observer.onError(overloaded());
            return;
        }
        try {
            R response = handler.apply(bytes);
            receiverMetrics.request("grpc", signal, "accepted");
            observer.onNext(response);
            observer.onCompleted();
        } catch (IngestException e) {
            receiverMetrics.request("grpc", signal, "malformed");
            observer.onError(io.grpc.Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (RuntimeException e) {
            LOG.warn("OTLP/gRPC export failed", e);
            receiverMetrics.request("grpc", signal, "failed");
            observer.onError(io.grpc.Status.INTERNAL.withDescription("telemetry failed to ingest the request")
                    .asRuntimeException());
        } finally {
            limiter.release(reserved);
        }
    }

    private StatusRuntimeException overloaded() {
        com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
                .setCode(Code.UNAVAILABLE_VALUE)
                .setMessage("telemetry is overloaded; retry after " + retryAfter.toMillis() + " ms")
                .addDetails(Any.pack(RetryInfo.newBuilder().setRetryDelay(Duration.newBuilder()
                        .setSeconds(retryAfter.getSeconds()).setNanos(retryAfter.getNano())).build()))
                .build();
        return StatusProto.toStatusRuntimeException(status);
    }

    static <T> T parse(byte[] bytes, com.google.protobuf.Parser<T> parser) {
        try {
            return parser.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IngestException(IngestException.Reason.MALFORMED, "invalid OTLP protobuf: " + e.getMessage());
        }
    }

    /** Passes a request's bytes through undecoded. */
    private enum RawBytes implements MethodDescriptor.Marshaller<byte[]> {
        INSTANCE;

        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("cannot read the request").withCause(e)
                        .asRuntimeException();
            }
        }
    }
}
