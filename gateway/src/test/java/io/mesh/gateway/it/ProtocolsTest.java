package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** HTTP/1.1, h2c, gRPC (unary and streaming, with trailers), WebSocket, and a streamed 200 MB upload. */
class ProtocolsTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Vertx vertx;
    static Backend web;
    static Server grpc;
    static HealthStatusManager health;
    static int grpcPort;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static final AccessLogCapture CAPTURE = new AccessLogCapture();

    @org.junit.jupiter.api.AfterAll
    static void stopCapture() {
        java.util.logging.Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
    }

    /** Waits for the access log line of {@code path} that ends in {@code end}. */
    static void logged(String path, String end) {
        String line = "grpc-line " + path + " " + end;
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> CAPTURE.lines.contains(line));
    }

    @BeforeAll
    static void start() throws Exception {
        java.util.logging.Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        vertx = MESH.vertx();
        web = MESH.backend("web");
        health = new HealthStatusManager();
        grpcPort = FreePorts.next();
        grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", grpcPort))
                .addService(health.getHealthService()).build().start();
        MESH.closing(grpc::shutdownNow);
        health.setStatus("mesh.Demo", HealthCheckResponse.ServingStatus.SERVING);
        pilot = MESH.pilot();
        port = FreePorts.next();
        var vh = Xds.vhost("all", List.of("*"), Xds.prefixTo("/grpc.health.v1.Health/", "grpc"),
                Xds.prefixTo("/mesh.Nowhere/", "empty"), Xds.prefixTo("/", "web"));
        pilot.set(List.of(Xds.edsCluster("web"), Xds.h2(Xds.edsCluster("grpc")), Xds.h2(Xds.edsCluster("empty"))),
                List.of(Xds.endpoints("web", web.port), Xds.endpoints("grpc", grpcPort), Xds.endpoints("empty")),
                List.of(ListenerTelemetryTest.listener(port, Xds.hcm("http.80").toBuilder()
                        .addAccessLog(AccessLogFormatsTest.log(AccessLogFormatsTest.text(
                                "grpc-line %REQ(:PATH)% %GRPC_STATUS% %GRPC_STATUS(SNAKE_STRING)% %GRPC_STATUS_NUMBER%")))
                        .build())), List.of(Xds.routes("http.80", vh)), List.of());
        gw = MESH.startGateway(Map.of("mesh.gateway.telemetry.access-log", "true"));
    }

    @Test
    void curlSpeaksHttp11AndH2cPriorKnowledge() throws Exception {
        String url = "http://127.0.0.1:" + port + "/";
        assertEquals("1.1 200 web", Run.run(List.of("curl", "-s", "-m", "10", "--http1.1", "-w", "%{http_version} %{http_code} ", "-o",
                "/dev/null", url), null) + "web");
        assertEquals("2 200", Run.run(List.of("curl", "-s", "-m", "10", "--http2-prior-knowledge", "-w", "%{http_version} %{http_code}",
                "-o", "/dev/null", url), null));
        assertEquals("2 200", Run.run(List.of("curl", "-s", "-m", "10", "--http2", "-w", "%{http_version} %{http_code}",
                "-o", "/dev/null", url), null));
    }

    @Test
    void h2loadRunsWithoutErrorsOverH2c() throws Exception {
        String out = Run.run(List.of("h2load", "-T", "10", "-n", "2000", "-c", "4", "-m", "10", "http://127.0.0.1:" + port + "/"), null);
        assertTrue(out.contains("2000 succeeded, 0 failed, 0 errored"), out);
        assertTrue(out.contains("status codes: 2000 2xx"), out);
    }

    @Test
    void grpcUnaryAndServerStreamingCallsAreProxiedWithTrailers() throws Exception {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
            assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                    stub.check(HealthCheckRequest.newBuilder().setService("mesh.Demo").build()).getStatus());
            StatusRuntimeException notFound = assertThrows(StatusRuntimeException.class,
                    () -> stub.check(HealthCheckRequest.newBuilder().setService("nope").build()));
            assertEquals(Status.Code.NOT_FOUND, notFound.getStatus().getCode());
            Iterator<HealthCheckResponse> watch = stub.watch(HealthCheckRequest.newBuilder().setService("mesh.Demo").build());
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, watch.next().getStatus());
            health.setStatus("mesh.Demo", HealthCheckResponse.ServingStatus.NOT_SERVING);
            assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, watch.next().getStatus());
            health.setStatus("mesh.Demo", HealthCheckResponse.ServingStatus.SERVING);
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, watch.next().getStatus());
            assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                    stub.check(HealthCheckRequest.newBuilder().setService("mesh.Demo").build()).getStatus());
        } finally {
            ch.shutdownNow();
        }
        // The access log's GRPC_STATUS: the upstream's grpc-status, from its trailers.
        logged("/grpc.health.v1.Health/Check", "Ok OK 0");
        logged("/grpc.health.v1.Health/Check", "NotFound NOT_FOUND 5");
    }

    @Test
    void aLocalReplyToAGrpcRequestIsAGrpcStatusAsEnvoySendsIt() throws Exception {
        // The route's cluster has no endpoint: the gateway answers itself (503 UH "no healthy upstream"). To a gRPC
        // request that is Envoy's Trailers-Only reply: HTTP 200, grpc-status UNAVAILABLE (14), the text as grpc-message.
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            io.grpc.MethodDescriptor<String, String> nowhere = io.mesh.testing.grpc.NamedGrpcBackend.NAME.toBuilder()
                    .setFullMethodName("mesh.Nowhere/Call").build();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> io.grpc.stub.ClientCalls.blockingUnaryCall(
                    ch, nowhere, io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "x"));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            assertEquals("no healthy upstream", e.getStatus().getDescription());
        } finally {
            ch.shutdownNow();
        }
        logged("/mesh.Nowhere/Call", "Unavailable UNAVAILABLE 14");
        String reply = Run.run(List.of("curl", "-s", "-m", "10", "--http2-prior-knowledge", "-i", "-X", "POST",
                "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "",
                "http://127.0.0.1:" + port + "/mesh.Nowhere/Call"), null);
        assertTrue(reply.startsWith("HTTP/2 200"), reply);
        assertTrue(reply.contains("content-type: application/grpc\r\n") && reply.contains("grpc-status: 14\r\n")
                && reply.contains("grpc-message: no healthy upstream\r\n"), reply);
        assertTrue(reply.endsWith("\r\n\r\n"), "no body, no trailers after the headers: " + reply);
        // Anything else keeps its HTTP reply.
        String plain = Run.run(List.of("curl", "-s", "-m", "10", "--http2-prior-knowledge", "-w", "%{http_code}",
                "http://127.0.0.1:" + port + "/mesh.Nowhere/Call"), null);
        assertEquals("no healthy upstream\n503", plain);
        logged("/mesh.Nowhere/Call", "- - -");   // not a gRPC request: no gRPC status
    }

    @Test
    void webSocketEchoWorksThroughTheGateway() throws Exception {
        CompletableFuture<String> echoed = new CompletableFuture<>();
        WebSocket ws = vertx.createWebSocketClient().connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
                .setURI("/ws")).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        ws.textMessageHandler(echoed::complete);
        ws.writeTextMessage("hello through the gateway");
        assertEquals("hello through the gateway", echoed.get(10, TimeUnit.SECONDS));
        CompletableFuture<Buffer> binary = new CompletableFuture<>();
        ws.binaryMessageHandler(binary::complete);
        ws.writeBinaryMessage(Buffer.buffer(new byte[100_000]));
        assertEquals(100_000, binary.get(10, TimeUnit.SECONDS).length());
        ws.close();
        // Istio's metrics count the upgrade with its status, 101, as Envoy's do.
        // Counted and logged when it ends, with its status, 101, as Envoy's metrics and access log have it.
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> gw.registry
                .find("istio_requests").tag("response_code", "101").counter() != null);
        logged("/ws", "- - -");
    }

    @Test
    void a200MbUploadStreamsThroughWithoutBufferingTheBody() throws Exception {
        long size = 200L * 1024 * 1024;
        System.gc();
        long baseline = usedHeap();
        // The client stops sending at the halfway mark until the heap has been sampled, so the sample is always
        // taken mid-upload, however fast the machine moves 200 MB.
        CountDownLatch sampled = new CountDownLatch(1);
        Zeros body = new Zeros(size, size / 2, sampled);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        CompletableFuture<HttpResponse<String>> upload = client.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/count"))
                        .POST(HttpRequest.BodyPublishers.fromPublisher(
                                HttpRequest.BodyPublishers.ofInputStream(() -> body), size)).build(),
                HttpResponse.BodyHandlers.ofString());
        long start = web.counted.get();
        // Once 80 MB have reached the origin (a buffered body would then hold more than that), a full GC shows what
        // is retained while the rest of the body is still to come.
        await().atMost(Duration.ofSeconds(60)).until(() -> web.counted.get() - start >= 80L * 1024 * 1024);
        System.gc();
        long retained = usedHeap() - baseline;
        long arrived = web.counted.get() - start;
        sampled.countDown();
        HttpResponse<String> r = upload.get(120, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertEquals(Long.toString(size), r.body());
        assertTrue(arrived <= size / 2, "sampled mid-upload: " + arrived + " bytes had arrived");
        assertTrue(retained < 40L * 1024 * 1024, "heap grew by " + retained / 1024 / 1024 + " MB");
    }

    private static long usedHeap() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /**
     * An endless-looking stream of zeros of a fixed length, never held in memory; it holds its reader at
     * {@code pauseAt} bytes until {@code resume} opens.
     */
    static final class Zeros extends InputStream {
        private long left;
        private final long pauseAt;
        private final CountDownLatch resume;
        private long sent;

        Zeros(long size) {
            this(size, size, new CountDownLatch(0));
        }

        Zeros(long size, long pauseAt, CountDownLatch resume) {
            this.left = size;
            this.pauseAt = pauseAt;
            this.resume = resume;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : 0;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            if (sent >= pauseAt) {
                try {
                    if (!resume.await(60, TimeUnit.SECONDS)) {
                        throw new IOException("the test never resumed the upload");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
            long until = sent < pauseAt ? pauseAt - sent : left;
            int n = (int) Math.min(len, Math.min(left, until));
            java.util.Arrays.fill(b, off, off + n, (byte) 0);
            left -= n;
            sent += n;
            return n;
        }
    }
}
