package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.type.v3.Percent;
import io.mesh.testing.FreePorts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Endpoint health as Envoy treats it, through xDS with real backends. EDS endpoints marked UNHEALTHY (istiod's
 * not-ready pods) count in their priority's health, so its traffic spills to the next priority in proportion, and they
 * get no request while their priority is not in panic. Below the panic threshold (Envoy's default 50%) every endpoint
 * is used, UNHEALTHY and ejected ones too; with {@code healthy_panic_threshold: 0} (istiod's, with unhealthy endpoints
 * or outlier detection) never.
 */
class EndpointHealthTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static final List<Backend> ZONE_A = new ArrayList<>();
    static Backend zoneB;
    static Backend failing1;
    static Backend failing2;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        for (int i = 0; i < 5; i++) {
            ZONE_A.add(MESH.backend("a" + i));
        }
        zoneB = MESH.backend("b");
        failing1 = MESH.backend("failing-1");
        failing2 = MESH.backend("failing-2");
        ControlPlane pilot = MESH.pilot();
        port = FreePorts.next();
        OutlierDetection ejectOnFirst5xx = OutlierDetection.newBuilder().setConsecutive5Xx(UInt32Value.of(1))
                .setMaxEjectionPercent(UInt32Value.of(100)).build();
        List<Cluster> clusters = List.of(Xds.edsCluster("spill"), Xds.edsCluster("panic"),
                noPanic(Xds.edsCluster("no-panic")),
                Xds.edsCluster("ejected").toBuilder().setOutlierDetection(ejectOnFirst5xx).build(),
                noPanic(Xds.edsCluster("ejected-no-panic").toBuilder().setOutlierDetection(ejectOnFirst5xx).build()));
        // spill: zone A (priority 0) has 5 endpoints, the first 2 UNHEALTHY; zone B (priority 1) one.
        ClusterLoadAssignment spill = ClusterLoadAssignment.newBuilder().setClusterName("spill")
                .addEndpoints(locality("zone-a", 0, ZONE_A, 2)).addEndpoints(locality("zone-b", 1, List.of(zoneB), 0))
                .build();
        // panic / no-panic: one flat set of 3, 2 UNHEALTHY (33% healthy, under 50%).
        List<Backend> three = ZONE_A.subList(0, 3);
        List<ClusterLoadAssignment> assignments = List.of(spill,
                flat("panic", locality("zone-a", 0, three, 2)), flat("no-panic", locality("zone-a", 0, three, 2)),
                Xds.endpoints("ejected", failing1.port, failing2.port),
                Xds.endpoints("ejected-no-panic", failing1.port, failing2.port));
        pilot.set(clusters, assignments, List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/spill", "spill"),
                        Xds.prefixTo("/panic", "panic"), Xds.prefixTo("/no-panic", "no-panic"),
                        Xds.prefixTo("/ejected-no-panic", "ejected-no-panic"), Xds.prefixTo("/ejected", "ejected")))),
                List.of());
        MESH.startGateway(Map.of());
    }

    static Cluster noPanic(Cluster c) {
        return c.toBuilder().setCommonLbConfig(Cluster.CommonLbConfig.newBuilder()
                .setHealthyPanicThreshold(Percent.newBuilder().setValue(0))).build();
    }

    static ClusterLoadAssignment flat(String name, LocalityLbEndpoints endpoints) {
        return ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(endpoints).build();
    }

    /** The backends as one locality's endpoints, the first {@code unhealthy} of them marked UNHEALTHY. */
    static LocalityLbEndpoints locality(String zone, int priority, List<Backend> backends, int unhealthy) {
        LocalityLbEndpoints.Builder b = LocalityLbEndpoints.newBuilder()
                .setLocality(Locality.newBuilder().setRegion("us-east").setZone(zone)).setPriority(priority)
                .setLoadBalancingWeight(UInt32Value.of(1));
        for (int i = 0; i < backends.size(); i++) {
            b.addLbEndpoints(LbEndpoint.newBuilder()
                    .setHealthStatus(i < unhealthy ? HealthStatus.UNHEALTHY : HealthStatus.HEALTHY)
                    .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                            .setAddress(Xds.address("127.0.0.1", backends.get(i).port))));
        }
        return b.build();
    }

    static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** {@code n} requests to {@code path}, each answered 200; the number each backend answered. */
    static Map<String, Integer> answers(String path, int n) throws Exception {
        Map<String, Integer> by = new java.util.TreeMap<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = get(path);
            assertEquals(200, r.statusCode(), r.body());
            by.merge(r.headers().firstValue("x-backend").orElse(""), 1, Integer::sum);
        }
        return by;
    }

    @Test
    void aPriorityWith2Of5EndpointsUnhealthySpillsEnvoysShareToTheNextAndTheyGetNoRequest() throws Exception {
        // Priority 0's health is min(100, 140 × 3 / 5) = 84: 16% of the requests go to zone B.
        Map<String, Integer> by = answers("/spill", 1000);
        int b = by.getOrDefault("b", 0);
        assertTrue(b > 100 && b < 230, "about 160 of 1000 to zone B: " + by);
        assertEquals(null, by.get("a0"), "UNHEALTHY: " + by);
        assertEquals(null, by.get("a1"), "UNHEALTHY: " + by);
    }

    @Test
    void underThePanicThresholdUnhealthyEndpointsAreUsedUnlessTheThresholdIs0() throws Exception {
        assertEquals(Map.of("a0", 20, "a1", 20, "a2", 20), answers("/panic", 60),
                "1 of 3 healthy is under Envoy's 50%: round robin over all three");
        assertEquals(Map.of("a2", 60), answers("/no-panic", 60), "healthy_panic_threshold 0: never the UNHEALTHY ones");
    }

    @Test
    void whenOutlierDetectionEjectsEveryEndpointPanicStillSendsToThemUnlessTheThresholdIs0() throws Exception {
        failing1.forceStatus = 500;
        failing2.forceStatus = 500;
        // One 500 each ejects both (the panic cluster's first two requests, round robin).
        assertEquals(500, get("/ejected").statusCode());
        assertEquals(500, get("/ejected").statusCode());
        int hits = failing1.hits.get() + failing2.hits.get();
        for (int i = 0; i < 10; i++) {
            assertEquals(500, get("/ejected").statusCode(), "in panic the ejected endpoints still answer");
        }
        assertEquals(hits + 10, failing1.hits.get() + failing2.hits.get());

        assertEquals(500, get("/ejected-no-panic").statusCode());
        assertEquals(500, get("/ejected-no-panic").statusCode());
        int before = failing1.hits.get() + failing2.hits.get();
        await().atMost(Duration.ofSeconds(5)).until(() -> get("/ejected-no-panic").statusCode() == 503);
        for (int i = 0; i < 10; i++) {
            assertEquals(503, get("/ejected-no-panic").statusCode(), "threshold 0: no healthy upstream");
        }
        assertEquals(before, failing1.hits.get() + failing2.hits.get(), "nothing reached the ejected endpoints");
    }
}
