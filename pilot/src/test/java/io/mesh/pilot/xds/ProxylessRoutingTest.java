package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.testing.grpc.NamedGrpcBackend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Header-match routing, DestinationRule subsets and WorkloadEntry scaling, observed through grpc-java. */
class ProxylessRoutingTest {
    @TempDir
    Path dir;
    PilotHarness harness;
    final List<NamedGrpcBackend> backends = new ArrayList<>();

    @AfterEach
    void stop() {
        if (harness != null) {
            harness.close();
        }
        backends.forEach(NamedGrpcBackend::close);
    }

    private NamedGrpcBackend backend(String name) {
        NamedGrpcBackend b = new NamedGrpcBackend(name);
        backends.add(b);
        return b;
    }

    @Test
    void headerMatchSendsCanaryUsersToTheV2Subset() {
        NamedGrpcBackend v1 = backend("v1");
        NamedGrpcBackend v2 = backend("v2");
        harness = new PilotHarness(dir);
        harness.write("reviews.yaml", """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: demo}
                spec:
                  hosts: [reviews.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 9080, name: grpc, protocol: GRPC}]
                  resolution: STATIC
                  endpoints:
                  - {address: 127.0.0.1, ports: {grpc: %d}, labels: {version: v1}}
                  - {address: 127.0.0.1, ports: {grpc: %d}, labels: {version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: demo}
                spec:
                  host: reviews
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v2, labels: {version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: demo}
                spec:
                  hosts: [reviews]
                  http:
                  - match:
                    - headers:
                        x-canary: {exact: "true"}
                    route:
                    - destination: {host: reviews, subset: v2}
                  - route:
                    - destination: {host: reviews, subset: v1}
                """.formatted(v1.port(), v2.port()));
        await().atMost(Duration.ofSeconds(5)).until(() -> harness.pilot.snapshot().meshRoutes()
                .containsKey("reviews.demo.svc.cluster.local"));
        ManagedChannel channel = harness.xdsChannel("reviews.demo.svc.cluster.local:9080", "routing-client");
        NamedGrpcBackend.warmUp(channel);
        assertEquals(Map.of("v1", 100), NamedGrpcBackend.count(channel, 100));

        Metadata canary = new Metadata();
        canary.put(Metadata.Key.of("x-canary", Metadata.ASCII_STRING_MARSHALLER), "true");
        assertEquals(Map.of("v2", 100), NamedGrpcBackend.count(ClientInterceptors.intercept(channel,
                MetadataUtils.newAttachHeadersInterceptor(canary)), 100));
    }

    @Test
    void addingAndRemovingWorkloadEntriesMovesCalls() {
        NamedGrpcBackend a = backend("we-a");
        NamedGrpcBackend b = backend("we-b");
        harness = new PilotHarness(dir);
        harness.write("backend.yaml", """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: backend, namespace: demo}
                spec:
                  hosts: [backend.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: grpc, protocol: GRPC}]
                  resolution: STATIC
                  workloadSelector:
                    labels: {app: backend}
                """);
        harness.write("we-a.yaml", workloadEntry("we-a", a.port()));
        await().atMost(Duration.ofSeconds(5)).until(() -> harness.pilot.snapshot()
                .endpointsOf("backend.demo.svc.cluster.local").size() == 1);
        ManagedChannel channel = harness.xdsChannel("backend.demo.svc.cluster.local:80", "we-client");
        NamedGrpcBackend.warmUp(channel);
        assertEquals(Map.of("we-a", 50), NamedGrpcBackend.count(channel, 50));

        harness.write("we-b.yaml", workloadEntry("we-b", b.port()));
        await().atMost(Duration.ofSeconds(5)).until(() -> NamedGrpcBackend.count(channel, 40).size() == 2);

        try {
            java.nio.file.Files.delete(dir.resolve("we-a.yaml"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> NamedGrpcBackend.count(channel, 40)
                .equals(Map.of("we-b", 40)));
    }

    private static String workloadEntry(String name, int port) {
        return """
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: %s, namespace: demo}
                spec:
                  address: 127.0.0.1
                  ports: {grpc: %d}
                  labels: {app: backend}
                """.formatted(name, port);
    }
}
