package io.mesh.pilot.xds;

import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The plaintext ADS endpoint (15010): a plain grpc-java server, so that xDS work never runs on a Vert.x event
 * loop. Requests are handled on {@code executor}; pushes run on the watcher's own bounded pool.
 */
public final class XdsServer implements AutoCloseable {
    private final Server server;

    /**
     * The one ADS service both ports share: one java-control-plane server, so stream ids (the watcher's keys)
     * never collide between the plaintext and the mTLS port.
     */
    public static io.grpc.BindableService ads(PushWatcher watcher) {
        // The watcher hands the same message instances to every proxy of a shape, so caching Any-packing pays off.
        V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(watcher), watcher,
                new io.envoyproxy.controlplane.server.DefaultExecutorGroup(),
                new io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer());
        return new AdsService(discovery.getAggregatedDiscoveryServiceImpl(), watcher);
    }

    /**
     * With {@code tls}, the mTLS endpoint (15012): clients must present a certificate that chains to the mesh
     * root (a citadel-issued workload certificate). Without, plaintext (15010).
     */
    public XdsServer(String host, int port, io.grpc.BindableService ads, ExecutorService executor,
            io.netty.handler.ssl.SslContext tls) {
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(host, port));
        if (tls != null) {
            builder.sslContext(tls);
        }
        this.server = builder
                .addService(ads)
                .executor(executor)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .maxInboundMessageSize(16 * 1024 * 1024)
                .build();
    }

    /** An mTLS server context from PEM files: our certificate chain and key, and the root that clients chain to. */
    public static io.netty.handler.ssl.SslContext mtls(java.nio.file.Path certChain, java.nio.file.Path key,
            java.nio.file.Path clientRoots) throws IOException {
        return io.grpc.netty.GrpcSslContexts.forServer(certChain.toFile(), key.toFile())
                .trustManager(clientRoots.toFile()).clientAuth(io.netty.handler.ssl.ClientAuth.REQUIRE).build();
    }

    public XdsServer start() throws IOException {
        server.start();
        return this;
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
