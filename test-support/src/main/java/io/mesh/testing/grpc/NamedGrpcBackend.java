package io.mesh.testing.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A plaintext gRPC server on a free loopback port whose one method, {@code mesh.test.Named/Name}, answers
 * with the server's name, so a test can count which backend each call reached.
 */
public final class NamedGrpcBackend implements AutoCloseable {

    /** The service's one method; tests that build their own server with it use {@link #SERVICE}. */
    public static final String SERVICE = "mesh.test.Named";

    public static final MethodDescriptor<String, String> NAME = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("mesh.test.Named/Name")
            .setRequestMarshaller(new Utf8()).setResponseMarshaller(new Utf8()).build();

    private final String name;
    private final Server server;

    public NamedGrpcBackend(String name) {
        this.name = name;
        ServerServiceDefinition service = ServerServiceDefinition.builder(SERVICE)
                .addMethod(NAME, ServerCalls.asyncUnaryCall((request, response) -> {
                    response.onNext(name);
                    response.onCompleted();
                }))
                .build();
        try {
            server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(service).build().start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start backend " + name, e);
        }
    }

    public String name() {
        return name;
    }

    public int port() {
        return server.getPort();
    }

    /** The first call waits until the channel is ready (a cold xDS client resolves first), then returns the name. */
    public static String warmUp(Channel channel) {
        return ClientCalls.blockingUnaryCall(channel, NAME,
                CallOptions.DEFAULT.withWaitForReady().withDeadlineAfter(30, TimeUnit.SECONDS), "");
    }

    /** Asks the backend behind {@code channel} for its name. */
    public static String call(Channel channel) {
        return ClientCalls.blockingUnaryCall(channel, NAME, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "");
    }

    /** Makes {@code calls} calls and counts them by the name that answered. */
    public static Map<String, Integer> count(Channel channel, int calls) {
        Map<String, Integer> counts = new TreeMap<>();
        for (int i = 0; i < calls; i++) {
            counts.merge(call(channel), 1, Integer::sum);
        }
        return counts;
    }

    @Override
    public void close() {
        server.shutdownNow();
    }

    private static final class Utf8 implements MethodDescriptor.Marshaller<String> {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
