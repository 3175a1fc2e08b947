package io.mesh.pilot.testing;

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

/** A tiny gRPC backend that answers "who are you" with its name, so tests can count where calls went. */
public final class WhoAmIBackend implements AutoCloseable {
    public static final MethodDescriptor<String, String> WHO = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("test.WhoAmI/Who")
            .setRequestMarshaller(new Utf8()).setResponseMarshaller(new Utf8()).build();

    private final Server server;
    private final String name;

    public WhoAmIBackend(String name) {
        this.name = name;
        ServerServiceDefinition service = ServerServiceDefinition.builder("test.WhoAmI")
                .addMethod(WHO, ServerCalls.asyncUnaryCall((req, out) -> {
                    out.onNext(name);
                    out.onCompleted();
                })).build();
        try {
            server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(service).build()
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return server.getPort();
    }

    public String name() {
        return name;
    }

    /** The first call waits for xDS to resolve (a cold JVM loads a lot of grpc-xds), then everything is warm. */
    public static String warmUp(Channel channel) {
        return ClientCalls.blockingUnaryCall(channel, WHO,
                CallOptions.DEFAULT.withWaitForReady().withDeadlineAfter(30, TimeUnit.SECONDS), "hi");
    }

    /** Makes {@code n} calls and counts the answers by backend name. */
    public static Map<String, Integer> count(Channel channel, int n) {
        Map<String, Integer> out = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            String who = ClientCalls.blockingUnaryCall(channel, WHO,
                    CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "hi");
            out.merge(who, 1, Integer::sum);
        }
        return out;
    }

    @Override
    public void close() {
        server.shutdownNow();
    }

    static final class Utf8 implements MethodDescriptor.Marshaller<String> {
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
