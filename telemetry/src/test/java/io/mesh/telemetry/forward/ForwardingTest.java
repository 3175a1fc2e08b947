package io.mesh.telemetry.forward;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.mesh.telemetry.OtlpFixtures;
import io.mesh.telemetry.ingest.OtlpGrpcReceiver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.trace.v1.Span;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** With {@code mesh.telemetry.forward.endpoint} set, spans received over OTLP reach the upstream collector too. */
@QuarkusTest
@TestProfile(ForwardingTest.WithUpstream.class)
class ForwardingTest {

    static final List<ExportTraceServiceRequest> UPSTREAM_RECEIVED = new CopyOnWriteArrayList<>();
    private static Server upstream;

    /** Starts the upstream collector before telemetry, so its port can be configured. */
    public static class WithUpstream implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("mesh.telemetry.forward.endpoint", "127.0.0.1:" + startUpstream());
        }
    }

    private static synchronized int startUpstream() {
        if (upstream == null) {
            try {
                upstream = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                        .addService(new TraceServiceGrpc.TraceServiceImplBase() {
                            @Override
                            public void export(ExportTraceServiceRequest request,
                                    StreamObserver<ExportTraceServiceResponse> observer) {
                                UPSTREAM_RECEIVED.add(request);
                                observer.onNext(ExportTraceServiceResponse.getDefaultInstance());
                                observer.onCompleted();
                            }
                        }).build().start();
                Runtime.getRuntime().addShutdownHook(new Thread(upstream::shutdownNow));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return upstream.getPort();
    }

    @Inject
    OtlpGrpcReceiver receiver;

    @Test
    void receivedSpansAreForwardedUpstream() {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", receiver.port()).usePlaintext().build();
        try {
            ExportTraceServiceRequest request = OtlpFixtures.traces("forwarded", List.of(OtlpFixtures.span(
                    OtlpFixtures.randomTraceId(), OtlpFixtures.randomSpanId(), "", "hop",
                    Span.SpanKind.SPAN_KIND_SERVER, 1, 1_000, false)));
            TraceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).export(request);
            await().atMost(Duration.ofSeconds(30)).until(() -> UPSTREAM_RECEIVED.contains(request));
            assertEquals(1, UPSTREAM_RECEIVED.stream().filter(request::equals).count());
        } finally {
            channel.shutdownNow();
        }
    }
}
