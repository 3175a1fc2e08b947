package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.xds.XdsServerBuilder;
import io.mesh.testing.FreePorts;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.testing.grpc.NamedGrpcBackend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A grpc-java xDS server (XdsServerBuilder) accepts pilot's inbound listener for it and serves. */
class XdsServerInboundTest {
    @TempDir
    Path dir;

    @Test
    void xdsServerAcceptsItsInboundListenerAndServes() throws Exception {
        try (PilotHarness harness = new PilotHarness(dir)) {
            int port = FreePorts.next();
            ServerServiceDefinition service = ServerServiceDefinition.builder(NamedGrpcBackend.SERVICE)
                    .addMethod(NamedGrpcBackend.NAME, ServerCalls.asyncUnaryCall((req, out) -> {
                        out.onNext("xds-server");
                        out.onCompleted();
                    })).build();
            Server server = XdsServerBuilder.forPort(port, InsecureServerCredentials.create())
                    .overrideBootstrapForTest(harness.bootstrap("xds-server-1")).addService(service).build().start();
            ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + port, InsecureChannelCredentials.create())
                    .build();
            try {
                String who = ClientCalls.blockingUnaryCall(channel, NamedGrpcBackend.NAME,
                        CallOptions.DEFAULT.withWaitForReady().withDeadlineAfter(20, TimeUnit.SECONDS), "hi");
                assertEquals("xds-server", who);
                await().atMost(Duration.ofSeconds(5)).until(() -> harness.pilot.watcher().connections().stream()
                        .anyMatch(c -> c.proxy().id().equals("xds-server-1") && c.status().stream()
                                .anyMatch(t -> t.type().equals("lds") && t.sent() != null
                                        && t.sent().equals(t.acked()) && t.lastNack() == null)));
            } finally {
                channel.shutdownNow();
                server.shutdownNow();
            }
        }
    }
}
