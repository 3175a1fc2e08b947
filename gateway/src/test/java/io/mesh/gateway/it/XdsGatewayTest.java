package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The gateway as an xDS client of a real ADS server (java-control-plane + SimpleCache): readiness, the
 * canary split, live weight changes, NACK of bad config, and surviving the loss of the control plane.
 */
class XdsGatewayTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Backend v1;
    static Backend v2;
    static ControlPlane pilot;
    static TestGateway gw;
    static int port;
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        v1 = MESH.backend("v1");
        v2 = MESH.backend("v2");
        pilot = MESH.pilot();
        port = io.mesh.testing.FreePorts.next();
        publish(50, 50, null);
        gw = MESH.startGateway(Map.of());
    }

    static String publish(int w1, int w2, Route extra) {
        var vh = Xds.vhost("reviews", List.of("*"), Xds.weighted("/", "outbound|80|v1|reviews", w1, "outbound|80|v2|reviews", w2));
        if (extra != null) {
            vh = vh.toBuilder().addRoutes(0, extra).build();
        }
        return pilot.set(List.of(Xds.edsCluster("outbound|80|v1|reviews"), Xds.edsCluster("outbound|80|v2|reviews")),
                List.of(Xds.endpoints("outbound|80|v1|reviews", v1.port), Xds.endpoints("outbound|80|v2|reviews", v2.port)),
                List.of(Xds.httpListener("0.0.0.0_80", port, "http.80")),
                List.of(Xds.routes("http.80", vh)), List.of());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void readinessOn15021MeansTheFirstCompleteConfigArrived() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gw.gateway.statusPort() + "/healthz/ready")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(pilot.requests.stream().anyMatch(req -> req.getNode().getMetadata().getFieldsMap().get("NODE_TYPE")
                .getStringValue().equals("router") && req.getNode().getId().startsWith("router~")));
    }

    @Test
    void weightedRouteSplitsTrafficByWeight() throws Exception {
        publish(50, 50, null);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 1000; i++) {
            HttpResponse<String> r = get("/");
            assertEquals(200, r.statusCode());
            counts.merge(r.headers().firstValue("x-backend").orElse("?"), 1, Integer::sum);
        }
        assertTrue(counts.get("v1") >= 450 && counts.get("v1") <= 550, "v1 got " + counts);
        assertTrue(counts.get("v2") >= 450 && counts.get("v2") <= 550, "v2 got " + counts);
    }

    @Test
    void weightChangeAppliesWithoutRestartOrFailedRequest() throws Exception {
        publish(50, 50, null);
        try (Load load = new Load("http://127.0.0.1:" + port + "/", 4)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> load.count("v2") > 50);
            publish(100, 0, null);
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                int before = load.count("v2");
                int okBefore = load.ok.get();
                await().until(() -> load.ok.get() > okBefore + 200);
                return load.count("v2") == before;
            });
            load.close();
            assertEquals(0, load.failed.get(), "failed requests, last: " + load.lastFailure.get());
        }
        publish(50, 50, null);
    }

    @Test
    void invalidConfigIsNackedWithDetailAndTheLastGoodConfigKeepsServing() throws Exception {
        publish(100, 0, null);
        await().atMost(Duration.ofSeconds(10)).until(() -> "v1".equals(get("/").headers().firstValue("x-backend").orElse("")));
        Route bad = Route.newBuilder().setName("broken").setMatch(RouteMatch.newBuilder()
                .setSafeRegex(RegexMatcher.newBuilder().setRegex("/api/(unclosed"))).setRoute(
                        io.envoyproxy.envoy.config.route.v3.RouteAction.newBuilder().setCluster("outbound|80|v2|reviews")).build();
        int nacksBefore = pilot.nacks().size();
        publish(0, 100, bad);
        await().atMost(Duration.ofSeconds(10)).until(() -> pilot.nacks().size() > nacksBefore);
        String detail = pilot.nacks().get(pilot.nacks().size() - 1).getErrorDetail().getMessage();
        assertTrue(detail.contains("route config http.80") && detail.contains("route broken")
                && detail.contains("invalid regex"), detail);
        for (int i = 0; i < 20; i++) {
            assertEquals("v1", get("/").headers().firstValue("x-backend").orElse(""));
        }
        publish(50, 50, null);
        await().atMost(Duration.ofSeconds(10)).until(() -> "v2".equals(get("/").headers().firstValue("x-backend").orElse("")));
    }

    @Test
    void losingTheControlPlaneFailsNoRequestAndItResyncsWhenBack() throws Exception {
        publish(50, 50, null);
        try (Load load = new Load("http://127.0.0.1:" + port + "/", 4)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > 100);
            int streams = pilot.streams.get();
            pilot.stop();
            await().atMost(Duration.ofSeconds(10)).until(() -> !gw.gateway.xds().connected());
            int okWhileDown = load.ok.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> load.ok.get() > okWhileDown + 300);
            pilot.start();
            String v = publish(100, 0, null);
            await().atMost(Duration.ofSeconds(15)).until(() -> gw.gateway.xds().connected() && pilot.streams.get() > streams);
            await().atMost(Duration.ofSeconds(15)).until(() -> pilot.requests.stream()
                    .anyMatch(r -> r.getVersionInfo().equals(v) && !r.hasErrorDetail()));
            load.close();
            assertEquals(0, load.failed.get(), "failed requests, last: " + load.lastFailure.get());
        }
        publish(50, 50, null);
    }
}
