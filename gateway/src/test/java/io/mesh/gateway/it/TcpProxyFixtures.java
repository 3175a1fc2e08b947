package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/** A router's tcp_proxy listeners in front of an echo backend that tracks each connection's end, and their clients. */
final class TcpProxyFixtures {

    private TcpProxyFixtures() {
    }

    static String cluster(String name) {
        return "outbound|9000||" + name + ".demo.svc.cluster.local";
    }

    /** A TCP listener whose one chain is a tcp_proxy to {@code name}'s cluster, with {@code settings} applied. */
    static Listener listener(int port, String name, UnaryOperator<TcpProxy.Builder> settings) {
        TcpProxy.Builder tcp = settings.apply(TcpProxy.newBuilder().setStatPrefix(cluster(name)).setCluster(cluster(name)));
        return Listener.newBuilder().setName("0.0.0.0_" + port).setAddress(Xds.address("127.0.0.1", port))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(tcp.build())))).build();
    }

    /**
     * An echo server; a connection's first line is its id, whose future in {@code closed} completes when the connection
     * ends here.
     */
    static int echo(Vertx vertx, Map<String, CompletableFuture<Void>> closed) throws Exception {
        int port = FreePorts.next();
        vertx.createNetServer().connectHandler(so -> {
            String[] id = {null};
            so.handler(b -> {
                if (id[0] == null) {
                    id[0] = b.toString(StandardCharsets.UTF_8).split("\n", 2)[0];
                    closed.computeIfAbsent(id[0], k -> new CompletableFuture<>());
                }
                so.write(b);
            });
            so.closeHandler(v -> {
                if (id[0] != null) {
                    closed.computeIfAbsent(id[0], k -> new CompletableFuture<>()).complete(null);
                }
            });
        }).listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        return port;
    }

    /** A client connected through {@code port}, its id sent and echoed (so the relay to the backend is up). */
    static Socket open(int port, String id) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        assertEquals(id + "\n", roundTrip(s, id + "\n"));
        return s;
    }

    /** Sends {@code text} and reads as many bytes back; fewer (the end, or a reset) once the gateway closed it. */
    static String roundTrip(Socket s, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(out);
        s.getOutputStream().flush();
        return new String(s.getInputStream().readNBytes(out.length), StandardCharsets.UTF_8);
    }
}
