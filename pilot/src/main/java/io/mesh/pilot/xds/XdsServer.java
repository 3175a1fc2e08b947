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

    public XdsServer(String host, int port, PushWatcher watcher, ExecutorService executor) {
        // The watcher hands the same message instances to every proxy of a shape, so caching Any-packing pays off.
        V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(watcher), watcher,
                new io.envoyproxy.controlplane.server.DefaultExecutorGroup(),
                new io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer());
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                .addService(new AdsService(discovery.getAggregatedDiscoveryServiceImpl(), watcher))
                .executor(executor)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .maxInboundMessageSize(16 * 1024 * 1024)
                .build();
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
