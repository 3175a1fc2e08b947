package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.NetServerOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A sidecar in front of an app that calls external addresses declared by ServiceEntries with {@code resolution: NONE},
 * with the config pilot generates for them (ServiceEntryResolutionNoneTest): an ORIGINAL_DST cluster, and on the port's
 * {@code 0.0.0.0_PORT} listener a chain matching the entry's CIDR block ({@code pg}), or one taking the whole port
 * ({@code mongo}: no address, no endpoints), under REGISTRY_ONLY, so that only what is recognised as the service gets
 * through; and ports with a {@code targetPort} ({@code api} TCP, {@code web} HTTP), whose clusters dial the original
 * destination at that port ({@code upstream_port_override}). The app runs in a network namespace whose connections are
 * redirected to the sidecar's capture port ({@link PodNamespace}, as SidecarHeadlessServiceTest); the "external"
 * servers are the test's, on addresses outside it.
 */
class SidecarServiceEntryNoneTest {
    static final String PG = "pg.external.example";
    static final String MONGO = "mongo.external.example";
    static final String API = "api.external.example";
    static final String WEB = "web.external.example";

    static Vertx vertx;
    static ControlPlane pilot;
    static TestGateway gw;
    static PodNamespace pod;
    /** In pg's CIDR block, and not. */
    static String inBlock;
    static String outside;
    static String block;
    static final int PG_PORT = FreePorts.next();
    static final int MONGO_PORT = FreePorts.next();
    /** api (TCP) and web (HTTP): the ports the app dials, and their targetPorts, where the servers are. */
    static final int API_PORT = FreePorts.next();
    static final int API_TARGET = FreePorts.next();
    static final int WEB_PORT = FreePorts.next();
    static final int WEB_TARGET = FreePorts.next();

    @BeforeAll
    static void start() throws Exception {
        PodNamespace.requireRoot();
        int capture = FreePorts.next();
        pod = PodNamespace.create(capture);
        inBlock = pod.destinations.get(0);   // .block+5
        outside = pod.destinations.get(1);   // .block+6
        String[] octets = inBlock.split("\\.");
        block = octets[0] + "." + octets[1] + "." + octets[2] + "." + (Integer.parseInt(octets[3]) - 1) + "/31";
        vertx = Vertx.vertx();
        Future.all(List.of(
                server(inBlock, PG_PORT, "pg"), server(outside, PG_PORT, "not-pg"), server(outside, MONGO_PORT, "mongo"),
                server(outside, API_TARGET, "api"), vertx.createHttpServer(new HttpServerOptions().setHost(outside)
                        .setPort(WEB_TARGET))
                        .requestHandler(r -> r.response().end("web " + r.host() + from(r.remoteAddress()))).listen()))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

        pilot = new ControlPlane();
        pilot.set(List.of(SidecarHeadlessServiceTest.originalDst(PG, PG_PORT, false),
                        SidecarHeadlessServiceTest.originalDst(MONGO, MONGO_PORT, false),
                        SidecarHeadlessServiceTest.blackHole(),
                        toTargetPort(API, API_PORT, API_TARGET), toTargetPort(WEB, WEB_PORT, WEB_TARGET)),
                List.of(),
                List.of(SidecarHeadlessServiceTest.virtualOutbound(),
                        wildcardPort(PG_PORT, byBlock(block, "outbound|" + PG_PORT + "||" + PG),
                                FilterChain.newBuilder().setName("BlackHoleFilterChain")
                                        .addFilters(SidecarHeadlessServiceTest.tcpProxy("BlackHoleCluster")).build()),
                        wildcardPort(MONGO_PORT, FilterChain.newBuilder()
                                .addFilters(SidecarHeadlessServiceTest.tcpProxy("outbound|" + MONGO_PORT + "||" + MONGO)).build()),
                        wildcardPort(API_PORT, FilterChain.newBuilder().addFilters(
                                SidecarHeadlessServiceTest.tcpProxy("outbound|" + API_PORT + "||" + API)).build()),
                        Xds.httpListener("0.0.0.0_" + WEB_PORT, WEB_PORT, Integer.toString(WEB_PORT)).toBuilder()
                                .setAddress(Xds.address("0.0.0.0", WEB_PORT)).setBindToPort(BoolValue.of(false))
                                .build()),
                List.of(SidecarHeadlessServiceTest.routes(WEB, "web", WEB_PORT)), List.of());
        gw = SidecarHeadlessServiceTest.sidecar(pilot, capture, Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        SidecarHeadlessServiceTest.stopAll(gw, pilot, SidecarHeadlessServiceTest.closing(vertx), pod);
    }

    static Future<?> server(String host, int port, String name) {
        return vertx.createNetServer(new NetServerOptions().setHost(host).setPort(port))
                .connectHandler(s -> s.handler(io.vertx.core.parsetools.RecordParser.newDelimited("\n", line -> s.write(
                        name + " " + line + from(s.remoteAddress()) + "\n")))).listen();
    }

    /** Whether a server's caller is the app itself (not captured) or the sidecar. */
    static String from(io.vertx.core.net.SocketAddress remote) {
        return remote.hostAddress().equals(pod.podIp) ? " from the app" : " from the sidecar";
    }

    /**
     * pilot's cluster for a NONE entry's port with a {@code targetPort}: ORIGINAL_DST, dialling the original destination
     * at the target port ({@code upstream_port_override}, istiod's PassthroughTargetPorts).
     */
    static Cluster toTargetPort(String host, int port, int targetPort) {
        return SidecarHeadlessServiceTest.originalDst(host, port, false).toBuilder().setOriginalDstLbConfig(
                Cluster.OriginalDstLbConfig.newBuilder().setUpstreamPortOverride(UInt32Value.of(targetPort))).build();
    }

    /** pilot's chain for a ServiceEntry's CIDR block: prefix_ranges, tcp_proxy to the service's cluster. */
    static FilterChain byBlock(String cidr, String cluster) {
        int slash = cidr.indexOf('/');
        return FilterChain.newBuilder().setFilterChainMatch(FilterChainMatch.newBuilder().addPrefixRanges(
                        CidrRange.newBuilder().setAddressPrefix(cidr.substring(0, slash))
                                .setPrefixLen(UInt32Value.of(Integer.parseInt(cidr.substring(slash + 1))))))
                .addFilters(SidecarHeadlessServiceTest.tcpProxy(cluster)).build();
    }

    /** istiod's outbound 0.0.0.0_PORT listener: not bound, virtualOutbound hands it the port's captured connections. */
    static Listener wildcardPort(int port, FilterChain... chains) {
        return Listener.newBuilder().setName("0.0.0.0_" + port).setAddress(Xds.address("0.0.0.0", port))
                .setBindToPort(BoolValue.of(false))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND)
                .addAllFilterChains(List.of(chains)).build();
    }

    static void awaitOpened(String service) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
            var c = gw.registry.find("istio_tcp_connections_opened").tag("destination_service", service).counter();
            return c != null && c.count() >= 1;
        });
    }

    @Test
    void aCapturedConnectionToAnAddressInTheEntrysCidrBlockReachesItsOriginalDestinationAsTheService() throws Exception {
        assertEquals("pg hello from the sidecar", pod.tcpLine(inBlock, PG_PORT, "hello"));
        // Recognised as the service, not passed through: Istio's TCP metrics name it.
        awaitOpened(PG);
    }

    @Test
    void underRegistryOnlyTheSamePortOutsideTheBlockIsStillRefused() throws Exception {
        // A server answers there, but the destination is in no block: BlackHoleFilterChain closes the connection.
        assertEquals("", pod.tcpLine(outside, PG_PORT, "hello"));
    }

    @Test
    void anEntryWithoutAddressOrEndpointsTakesItsWholePort() throws Exception {
        assertEquals("mongo hello from the sidecar", pod.tcpLine(outside, MONGO_PORT, "hello"));
        awaitOpened(MONGO);
    }

    @Test
    void aTcpConnectionToAPortWithATargetPortReachesTheOriginalDestinationAtTheTargetPort() throws Exception {
        // Nothing listens on API_PORT: the answer can only come from the server on the target port.
        assertEquals("api hello from the sidecar", pod.tcpLine(outside, API_PORT, "hello"));
        awaitOpened(API);
    }

    @Test
    void anHttpRequestToAPortWithATargetPortReachesTheOriginalDestinationAtTheTargetPort() throws Exception {
        // The Host header stays the one the app sent; only the port dialled changes.
        assertEquals("web " + WEB + ":" + WEB_PORT + " from the sidecar 200", pod.exec(List.of("curl", "-s", "-m", "10",
                "-w", " %{http_code}", "--resolve", WEB + ":" + WEB_PORT + ":" + outside,
                "http://" + WEB + ":" + WEB_PORT + "/")).strip());
    }
}
