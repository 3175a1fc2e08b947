package io.mesh.gateway.agent;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The kubelet's gRPC probe: {@code grpc.health.v1.Health/Check} over plaintext HTTP/2, one channel per probe (as the
 * kubelet and Istio's agent do), bounded by a deadline. The two messages are a string and an enum field, encoded here
 * with protobuf's wire codec because grpc-services' generated classes are not on the runtime classpath. Never blocks
 * its caller: the result completes on a gRPC thread.
 */
final class GrpcHealthCheck {

    /** {@code HealthCheckResponse.ServingStatus.SERVING}. */
    static final int SERVING = 1;

    private static final MethodDescriptor<String, Integer> CHECK = MethodDescriptor.<String, Integer>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("grpc.health.v1.Health/Check")
            .setRequestMarshaller(new RequestMarshaller())
            .setResponseMarshaller(new ResponseMarshaller())
            .build();

    private GrpcHealthCheck() {
    }

    /** The serving status the app answered, or a failed stage with the gRPC status (UNIMPLEMENTED, DEADLINE_EXCEEDED, ...). */
    static CompletionStage<Integer> check(String host, int port, String service, Duration timeout) {
        ManagedChannel channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
        CompletableFuture<Integer> result = new CompletableFuture<>();
        ClientCalls.asyncUnaryCall(channel.newCall(CHECK, CallOptions.DEFAULT.withDeadlineAfter(timeout.toMillis(),
                TimeUnit.MILLISECONDS)), service, new StreamObserver<>() {
                    @Override
                    public void onNext(Integer status) {
                        result.complete(status);
                    }

                    @Override
                    public void onError(Throwable t) {
                        result.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        result.completeExceptionally(Status.INTERNAL.withDescription("no response message").asException());
                    }
                });
        return result.whenComplete((s, e) -> channel.shutdownNow());
    }

    /** {@code HealthCheckRequest { string service = 1; }}. */
    private static final class RequestMarshaller implements MethodDescriptor.Marshaller<String> {
        @Override
        public InputStream stream(String service) {
            try {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                CodedOutputStream out = CodedOutputStream.newInstance(bytes);
                if (!service.isEmpty()) {
                    out.writeString(1, service);
                }
                out.flush();
                return new ByteArrayInputStream(bytes.toByteArray());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public String parse(InputStream stream) {
            throw new UnsupportedOperationException("client side only");
        }
    }

    /** {@code HealthCheckResponse { ServingStatus status = 1; }}; unknown fields are skipped. */
    private static final class ResponseMarshaller implements MethodDescriptor.Marshaller<Integer> {
        @Override
        public InputStream stream(Integer status) {
            throw new UnsupportedOperationException("client side only");
        }

        @Override
        public Integer parse(InputStream stream) {
            try {
                CodedInputStream in = CodedInputStream.newInstance(stream);
                int status = 0;
                for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                    if (tag == (1 << 3)) {
                        status = in.readEnum();
                    } else if (!in.skipField(tag)) {
                        break;
                    }
                }
                return status;
            } catch (IOException e) {
                throw Status.INTERNAL.withDescription("bad HealthCheckResponse: " + e.getMessage()).withCause(e).asRuntimeException();
            }
        }
    }
}
