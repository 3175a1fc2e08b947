package io.mesh.gateway.it;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real ADS server for tests: java-control-plane's V3DiscoveryServer over a SimpleCache, on a free port.
 * It records every request, so a test can see ACKs and NACKs, and it can be stopped and started again on
 * the same port to play "pilot killed and back".
 */
final class ControlPlane implements AutoCloseable {

    static final String GROUP = "gateway";

    final int port = FreePorts.next();
    final SimpleCache<String> cache = new SimpleCache<>(node -> GROUP);
    final List<DiscoveryRequest> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger streams = new AtomicInteger();
    private final V3DiscoveryServer discovery;
    private Server server;
    private int version;

    private final io.netty.handler.ssl.SslContext tls;

    ControlPlane() throws IOException {
        this(null);
    }

    /** {@code tls}: serve ADS over (mutual) TLS with this server context, as pilot's 15012 does; null = plaintext. */
    ControlPlane(io.netty.handler.ssl.SslContext tls) throws IOException {
        this.tls = tls;
        DiscoveryServerCallbacks cb = new DiscoveryServerCallbacks() {
            @Override
            public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
                requests.add(request);
            }

            @Override
            public void onV3StreamDeltaRequest(long streamId,
                    io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest request) {
            }

            @Override
            public void onStreamOpen(long streamId, String typeUrl) {
                streams.incrementAndGet();
            }
        };
        discovery = new V3DiscoveryServer(cb, cache);
        start();
    }

    void start() throws IOException {
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .addService(discovery.getAggregatedDiscoveryServiceImpl());
        if (tls != null) {
            b.sslContext(tls);
        }
        server = b.build().start();
    }

    void stop() {
        server.shutdownNow();
        try {
            server.awaitTermination();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    String address() {
        return "127.0.0.1:" + port;
    }

    /** Publishes a new snapshot; returns its version. */
    synchronized String set(List<Cluster> clusters, List<ClusterLoadAssignment> endpoints, List<Listener> listeners,
            List<RouteConfiguration> routes, List<Secret> secrets) {
        String v = "v" + (++version);
        cache.setSnapshot(GROUP, Snapshot.create(clusters, endpoints, listeners, routes, secrets, v));
        return v;
    }

    /** Whether the gateway ACKed this version of the listeners (LDS). */
    boolean listenersAcked(String version) {
        return requests.stream().anyMatch(r -> r.getTypeUrl().equals(io.envoyproxy.controlplane.cache.Resources.V3.LISTENER_TYPE_URL)
                && r.getVersionInfo().equals(version) && !r.hasErrorDetail());
    }

    List<DiscoveryRequest> nacks() {
        return requests.stream().filter(DiscoveryRequest::hasErrorDetail).toList();
    }

    @Override
    public void close() {
        stop();
    }
}
