package io.mesh.telemetry.ingest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.RetryInfo;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCalls;
import io.mesh.telemetry.OtlpFixtures;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.trace.v1.Span;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
class OtlpGrpcReceiverTest {

    @Inject
    OtlpGrpcReceiver receiver;
    @Inject
    IngestLimiter limiter;

    private ManagedChannel channel;
    private TraceServiceGrpc.TraceServiceBlockingStub traces;

    @BeforeEach
    void connect() {
        channel = NettyChannelBuilder.forAddress("127.0.0.1", receiver.port()).usePlaintext().build();
        traces = TraceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @AfterEach
    void disconnect() {
        channel.shutdownNow();
    }

    @Test
    void exportedSpansAreQueryable() {
        String traceId = OtlpFixtures.randomTraceId();
        traces.export(OtlpFixtures.traces("grpc-svc", List.of(OtlpFixtures.span(traceId, OtlpFixtures.randomSpanId(),
                "", "grpc-call", Span.SpanKind.SPAN_KIND_SERVER, 10, 2_000_000, false))));
        given().get("/api/traces/" + traceId).then().statusCode(200)
                .body("spans[0].service", equalTo("grpc-svc")).body("spans[0].durationMs", equalTo(2.0f));
    }

    @Test
    void readinessIncludesTheReceivers() {
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'otlp-receivers' }.status", equalTo("UP"))
                .body("checks.find { it.name == 'otlp-receivers' }.data.grpcPort", equalTo(receiver.port()));
    }

    @Test
    void malformedMessageIsInvalidArgument() {
        MethodDescriptor<byte[], byte[]> raw = TraceServiceGrpc.getExportMethod().toBuilder(Bytes.INSTANCE,
                Bytes.INSTANCE).build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                channel, raw, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[] {0x0a, 0x7f, 1}));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    }

    @Test
    void oversizedMessageIsResourceExhausted() {
        Span big = OtlpFixtures.span(OtlpFixtures.randomTraceId(), OtlpFixtures.randomSpanId(), "", "x".repeat(5 << 20),
                Span.SpanKind.SPAN_KIND_SERVER, 1, 1, false);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> traces.export(OtlpFixtures.traces("big", List.of(big))));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    }

    @Test
    void overloadIsUnavailableWithRetryInfo() throws Exception {
        long taken = limiter.capacity() - limiter.inFlightBytes();
        assertTrue(limiter.tryAcquire(taken));
        StatusRuntimeException e;
        try {
            e = assertThrows(StatusRuntimeException.class,
                    () -> traces.export(ExportTraceServiceRequest.getDefaultInstance()));
        } finally {
            limiter.release(taken);
        }
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        RetryInfo retry = details.getDetails(0).unpack(RetryInfo.class);
        assertEquals(1, retry.getRetryDelay().getSeconds());
        traces.export(ExportTraceServiceRequest.getDefaultInstance());
    }

    private enum Bytes implements MethodDescriptor.Marshaller<byte[]> {
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
                throw new UncheckedIOException(e);
            }
        }
    }
}
