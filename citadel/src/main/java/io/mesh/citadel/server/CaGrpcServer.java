package io.mesh.citadel.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.mesh.citadel.client.BundleTrustManager;
import io.mesh.citadel.client.RotatingKeyManager;
import io.mesh.common.concurrent.DaemonThreads;
import io.mesh.proto.ca.IstioCertificateServiceGrpc;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The CA's gRPC endpoint over TLS, a plain grpc-java Netty server rather than Quarkus' gRPC server.
 *
 * <p>Why: Quarkus configures its gRPC server's TLS from files or keystores fixed at startup, but this server's
 * certificate is issued by citadel itself after startup and re-issued on rotation. Here the TLS context takes a
 * {@link RotatingKeyManager} (our current serving certificate) and a {@link BundleTrustManager} (our current
 * roots), so both rotate with no restart. Client certificates are optional: a caller renewing presents its mesh
 * certificate and the handshake verifies it against our roots; a first-time caller presents none and sends a
 * token. A certificate from any other root fails the handshake.
 *
 * <p>Calls run on the event loop that read them ({@code directExecutor}): {@link CertificateService} moves only a
 * call that needs a TokenReview, a blocking HTTP call, to the fixed pool of {@link #blockingPool}, which is
 * bounded so that a burst queues instead of spawning threads.
 */
public final class CaGrpcServer {

    private final Server server;
    private final ExecutorService executor;

    /**
     * @param blockingPool the service's pool for calls that block (see {@link #blockingPool}); shut down by
     *     {@link #stop}
     */
    public CaGrpcServer(String host, int port, CertificateService service, ServingCertificate serving,
            BundleTrustManager trust, ExecutorService blockingPool) throws IOException {
        SslContext ssl = GrpcSslContexts.configure(
                SslContextBuilder.forServer(new RotatingKeyManager(serving::current)), SslProvider.JDK)
                .trustManager(trust).clientAuth(ClientAuth.OPTIONAL).build();
        this.executor = blockingPool;
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port)).sslContext(ssl)
                .directExecutor()
                .addService(ServerInterceptors.intercept(IstioCertificateServiceGrpc.bindService(service), new TransportCredentials()))
                .build();
    }

    /** A fixed pool of {@code threads} daemon threads with an unbounded queue, for calls that block. */
    public static ExecutorService blockingPool(int threads) {
        return new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                DaemonThreads.numbered("citadel-ca"));
    }

    public CaGrpcServer start() throws IOException {
        server.start();
        return this;
    }

    /** The bound port (useful when configured as 0). */
    public int port() {
        return server.getPort();
    }

    public void stop() throws InterruptedException {
        server.shutdown();
        if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
            server.shutdownNow();
        }
        executor.shutdownNow();
    }
}
