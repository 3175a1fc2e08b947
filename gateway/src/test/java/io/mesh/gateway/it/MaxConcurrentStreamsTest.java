package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.mesh.testing.FreePorts;
import io.vertx.core.http.HttpServerOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An HTTP/2 cluster's {@code max_concurrent_streams} (istiod's DestinationRule {@code http.maxConcurrentStreams}): an
 * upstream h2c server that holds each request for a while and counts the streams open on each of its connections
 * sees at most that many on any connection, the requests past it going over new connections; without the setting, one
 * connection per event loop carries them all.
 */
class MaxConcurrentStreamsTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();

    static final int REQUESTS = 6;
    static int port;
    /** Per upstream connection: its streams open now, and the most it had at once. */
    static final Map<Object, AtomicInteger> OPEN = new ConcurrentHashMap<>();
    static final Map<Object, AtomicInteger> PEAK = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        int upstream = FreePorts.next();
        MESH.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(upstream))
                .requestHandler(r -> {
                    Object conn = r.connection();
                    int open = OPEN.computeIfAbsent(conn, c -> new AtomicInteger()).incrementAndGet();
                    PEAK.computeIfAbsent(conn, c -> new AtomicInteger()).accumulateAndGet(open, Math::max);
                    MESH.vertx().setTimer(600, t -> {
                        OPEN.get(conn).decrementAndGet();
                        r.response().end(r.version() + " " + System.identityHashCode(conn));
                    });
                })
                .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        ControlPlane pilot = MESH.pilot();
        port = FreePorts.next();
        pilot.set(List.of(h2(Xds.edsCluster("limited"), 1), h2(Xds.edsCluster("unlimited"), 0)),
                List.of(Xds.endpoints("limited", upstream), Xds.endpoints("unlimited", upstream)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/limited", "limited"),
                        Xds.prefixTo("/unlimited", "unlimited")))), List.of());
        MESH.startGateway(Map.of());
    }

    @Test
    void anUpstreamConnectionCarriesAtMostMaxConcurrentStreams() throws Exception {
        Set<String> connections = concurrently("/limited");
        assertEquals(REQUESTS, connections.size(), "each of the requests held at once needs a connection of its own");
        assertTrue(connections.stream().allMatch(c -> c.startsWith("HTTP_2 ")), "h2c upstream: " + connections);
        for (String c : connections) {
            assertEquals(1, peak(c), "streams at once on upstream connection " + c);
        }
    }

    @Test
    void withoutItTheStreamsShareAConnection() throws Exception {
        Set<String> connections = concurrently("/unlimited");
        assertTrue(connections.size() < REQUESTS, "fewer connections than requests: " + connections);
        assertTrue(connections.stream().anyMatch(c -> peak(c) > 1), "some connection carried several streams at once");
    }

    /** Sends the requests at once, each over its own downstream connection; the upstream connections that answered. */
    private static Set<String> concurrently(String path) throws Exception {
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            answers.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        Set<String> connections = new HashSet<>();
        for (var a : answers) {
            HttpResponse<String> r = a.get(20, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            connections.add(r.body());
        }
        return connections;
    }

    private static int peak(String connection) {
        String id = connection.substring(connection.indexOf(' ') + 1);
        return PEAK.entrySet().stream().filter(e -> Integer.toString(System.identityHashCode(e.getKey())).equals(id))
                .mapToInt(e -> e.getValue().get()).findFirst().orElseThrow();
    }

    private static Cluster h2(Cluster c, int maxStreams) {
        Http2ProtocolOptions.Builder h2 = Http2ProtocolOptions.newBuilder();
        if (maxStreams > 0) {
            h2.setMaxConcurrentStreams(com.google.protobuf.UInt32Value.of(maxStreams));
        }
        return c.toBuilder().putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                com.google.protobuf.Any.pack(HttpProtocolOptions.newBuilder().setExplicitHttpConfig(
                        HttpProtocolOptions.ExplicitHttpConfig.newBuilder().setHttp2ProtocolOptions(h2)).build())).build();
    }
}
