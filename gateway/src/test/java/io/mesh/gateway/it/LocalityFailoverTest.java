package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.mesh.testing.FreePorts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Locality failover as Envoy does it, through xDS with real backends: the gateway runs in zone A and says so in its
 * xDS node; the assignment is the one pilot gives a proxy there (zone A's backend at priority 0, zone B's at 1) on a
 * cluster with outlier detection. All traffic stays in zone A; once A's backend fails and is ejected, its priority's
 * health drops to 0 and traffic spills to zone B; when the ejection ends, traffic returns to A.
 */
class LocalityFailoverTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static Backend zoneA;
    static Backend zoneB;
    static ControlPlane pilot;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        zoneA = MESH.backend("zone-a");
        zoneB = MESH.backend("zone-b");
        pilot = MESH.pilot();
        port = FreePorts.next();
        Cluster web = Xds.edsCluster("web").toBuilder().setOutlierDetection(OutlierDetection.newBuilder()
                .setConsecutive5Xx(UInt32Value.of(2)).setBaseEjectionTime(Durations.fromSeconds(1))
                .setMaxEjectionPercent(UInt32Value.of(100))).build();
        ClusterLoadAssignment cla = ClusterLoadAssignment.newBuilder().setClusterName("web")
                .addEndpoints(locality("zone-a", 0, zoneA.port)).addEndpoints(locality("zone-b", 1, zoneB.port)).build();
        pilot.set(List.of(web), List.of(cla), List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
        MESH.startGateway(Map.of("mesh.gateway.node.locality", "us-east/zone-a"));
    }

    static LocalityLbEndpoints locality(String zone, int priority, int backendPort) {
        return LocalityLbEndpoints.newBuilder().setLocality(Locality.newBuilder().setRegion("us-east").setZone(zone))
                .setPriority(priority).setLoadBalancingWeight(UInt32Value.of(1))
                .addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint
                        .newBuilder().setAddress(Xds.address("127.0.0.1", backendPort))))
                .build();
    }

    static HttpResponse<String> get() throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).timeout(Duration.ofSeconds(5))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    /** {@code n} requests; each must be answered 200 by {@code expected}. */
    static void allGoTo(Backend expected, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = get();
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(expected.name, r.headers().firstValue("x-backend").orElse(""), "request " + i);
        }
    }

    @Test
    void trafficStaysInTheProxysZoneFailsOverWhenItsBackendIsEjectedAndReturnsAfterwards() throws Exception {
        assertTrue(pilot.requests.stream().anyMatch(r -> r.getNode().getLocality().getZone().equals("zone-a")
                && r.getNode().getLocality().getRegion().equals("us-east")), "the node says where the gateway runs");
        allGoTo(zoneA, 20);
        assertEquals(0, zoneB.hits.get(), "nothing leaves zone A while its endpoint is healthy");

        // Zone A's backend fails: two 5xx eject it, and every request then lands in zone B.
        zoneA.forceStatus = 500;
        await().atMost(Duration.ofSeconds(10)).until(() -> "zone-b".equals(get().headers().firstValue("x-backend")
                .orElse("")));
        int aHits = zoneA.hits.get();
        allGoTo(zoneB, 20);
        assertEquals(aHits, zoneA.hits.get(), "the ejected zone-A endpoint gets nothing");

        // It recovers; when its ejection ends (1 s), traffic goes back to zone A.
        zoneA.forceStatus = 0;
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> "zone-a".equals(get().headers().firstValue("x-backend").orElse("")));
        int bHits = zoneB.hits.get();
        allGoTo(zoneA, 20);
        assertEquals(bHits, zoneB.hits.get());
    }
}
