package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.HealthStatusSet;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Persistent sessions on a sidecar's outbound side, with the xDS istiod sends for a Service labelled
 * {@code istio.io/persistent-session} (the empty filter in the {@code 0.0.0.0_PORT} HCM, the cookie on the service's
 * virtual host, override_host_status on its cluster). The app runs in a network namespace whose connections are
 * redirected to the sidecar's capture port ({@link PodNamespace}); the service's two endpoints are the test's servers
 * outside it; curl runs in the app's namespace.
 */
class SidecarStatefulSessionTest {
    static final String HOST = "web.demo.svc.cluster.local";
    static final int PORT = FreePorts.next();
    static final String CLUSTER = "outbound|" + PORT + "||" + HOST;

    static Vertx vertx;
    static ControlPlane pilot;
    static TestGateway gw;
    static PodNamespace pod;

    @BeforeAll
    static void start() throws Exception {
        PodNamespace.requireRoot();
        int capture = FreePorts.next();
        pod = PodNamespace.create(capture);
        vertx = Vertx.vertx();
        List<Future<?>> servers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String name = "pod-" + i;
            servers.add(vertx.createHttpServer(new HttpServerOptions().setHost(pod.destinations.get(i)).setPort(PORT))
                    .requestHandler(r -> r.response().putHeader("x-backend", name).end(name)).listen());
        }
        Future.all(servers).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        pilot = new ControlPlane();
        Cluster web = Xds.edsCluster(CLUSTER).toBuilder().setCommonLbConfig(Cluster.CommonLbConfig.newBuilder()
                .setOverrideHostStatus(HealthStatusSet.newBuilder().addStatuses(HealthStatus.HEALTHY)
                        .addStatuses(HealthStatus.DRAINING).addStatuses(HealthStatus.UNKNOWN)
                        .addStatuses(HealthStatus.DEGRADED))).build();
        var loc = io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints.newBuilder();
        for (int i = 0; i < 2; i++) {
            loc.addLbEndpoints(io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.newBuilder().setEndpoint(
                    io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                            .setAddress(Xds.address(pod.destinations.get(i), PORT))));
        }
        RouteConfiguration routes = SidecarHeadlessServiceTest.routes(HOST, "web", PORT);
        routes = routes.toBuilder().setVirtualHosts(0, routes.getVirtualHosts(0).toBuilder().putTypedPerFilterConfig(
                "envoy.filters.http.stateful_session", StatefulSessionTest.perRoute(
                        StatefulSessionTest.cookie("sticky", "/")))).build();
        Listener outbound = StatefulSessionTest.listener().toBuilder().setName("0.0.0.0_" + PORT)
                .setAddress(Xds.address("0.0.0.0", PORT)).setBindToPort(BoolValue.of(false))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND).build();
        outbound = outbound.toBuilder().setFilterChains(0, outbound.getFilterChains(0).toBuilder().setFilters(0,
                outbound.getFilterChains(0).getFilters(0).toBuilder().setTypedConfig(Any.pack(
                        outbound.getFilterChains(0).getFilters(0).getTypedConfig().unpack(
                                io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3
                                        .HttpConnectionManager.class).toBuilder()
                                .setRds(outbound.getFilterChains(0).getFilters(0).getTypedConfig().unpack(
                                        io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3
                                                .HttpConnectionManager.class).getRds().toBuilder()
                                        .setRouteConfigName(Integer.toString(PORT))).build())))).build();
        pilot.set(List.of(web, SidecarHeadlessServiceTest.blackHole()),
                List.of(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder().setClusterName(CLUSTER)
                        .addEndpoints(loc).build()),
                List.of(SidecarHeadlessServiceTest.virtualOutbound(), outbound), List.of(routes), List.of());
        gw = SidecarHeadlessServiceTest.sidecar(pilot, capture, Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        SidecarHeadlessServiceTest.stopAll(gw, pilot, SidecarHeadlessServiceTest.closing(vertx), pod);
    }

    /** curl in the app's namespace, to the service's name on one of its endpoints' addresses (captured). */
    static StatefulSessionTest.Answer curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "--max-time", "5", "-D", "-", "-o", "/dev/null",
                "-H", "Host: " + HOST));
        cmd.addAll(List.of(args));
        cmd.add("http://" + pod.destinations.get(0) + ":" + PORT + "/");
        return StatefulSessionTest.parse(pod.exec(cmd));
    }

    @Test
    void theAppsSessionSticksToOneEndpointThroughItsSidecar() throws Exception {
        Map<String, Integer> by = new TreeMap<>();
        for (int i = 0; i < 4; i++) {
            StatefulSessionTest.Answer r = curl();
            assertEquals(200, r.status());
            by.merge(r.backend(), 1, Integer::sum);
            int n = r.backend().equals("pod-0") ? 0 : 1;
            assertEquals(pod.destinations.get(n) + ":" + PORT,
                    StatefulSessionTest.cookieAddress(StatefulSessionTest.stickyCookie(r)));
        }
        assertEquals(Map.of("pod-0", 2, "pod-1", 2), by, "without a cookie: round robin");
        StatefulSessionTest.Answer first = curl();
        String cookie = StatefulSessionTest.stickyCookie(first);
        for (int i = 0; i < 20; i++) {
            StatefulSessionTest.Answer r = curl("-b", "sticky=\"" + cookie + "\"");
            assertEquals(first.backend(), r.backend(), "request " + i);
            assertNull(r.first("set-cookie"));
        }
    }
}
