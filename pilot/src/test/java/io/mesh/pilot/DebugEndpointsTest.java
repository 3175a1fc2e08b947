package io.mesh.pilot;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.RawAdsClient;
import io.mesh.testing.Promtool;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The debug endpoints and metrics of the packaged app, with the local runner's config and a real ADS stream. */
@QuarkusTest
class DebugEndpointsTest {
    static final String WEB = "web.demo.svc.cluster.local:80";

    @Inject
    PilotStartup startup;

    @Test
    void configzShowsTheLocalRunnersResourcesAccepted() {
        given().get("/debug/configz").then().statusCode(200)
                .body("resources.find { it.kind == 'VirtualService' && it.name == 'web' }.status",
                        org.hamcrest.Matchers.equalTo("Accepted"))
                .body("resources.kind", hasItem("ServiceEntry"));
    }

    @Test
    void versionIsTheBuildsVersion() {
        String version = org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getValue("quarkus.application.version", String.class);
        given().get("/version").then().statusCode(200).body("version", org.hamcrest.Matchers.equalTo(version));
    }

    @Test
    void registryzListsServicesAndEndpoints() {
        given().get("/debug/registryz").then().statusCode(200)
                .body("services.hostname", hasItem("web.demo.svc.cluster.local"))
                .body("services.find { it.hostname == 'backend.demo.svc.cluster.local' }.endpoints[0].address",
                        org.hamcrest.Matchers.equalTo("127.0.0.1"));
    }

    @Test
    void syncAndConfigDumpShowAConnectedProxyAndItsAcks() throws Exception {
        try (RawAdsClient client = new RawAdsClient(startup.runtime().xdsPort(), "debug-proxy", "grpc").openSotw()) {
            client.request(Resources.V3.LISTENER_TYPE_URL, List.of(WEB), "", "", null);
            DiscoveryResponse lds = client.next(Duration.ofSeconds(10));
            assertNotNull(lds);
            client.ack(lds, List.of(WEB));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> given().get("/debug/syncz").then()
                    .statusCode(200)
                    .body("find { it.proxy == 'debug-proxy' }.xds.lds.status", org.hamcrest.Matchers.equalTo("SYNCED"))
                    .body("find { it.proxy == 'debug-proxy' }.type", org.hamcrest.Matchers.equalTo("GRPC")));
            given().queryParam("proxyID", "debug-proxy").get("/debug/config_dump").then().statusCode(200)
                    .body("listeners[0].name", org.hamcrest.Matchers.equalTo(WEB))
                    .body(containsString("HttpConnectionManager"));
            String metrics = given().accept(Promtool.PROMETHEUS_TEXT).get("/q/metrics").then().statusCode(200)
                    .extract().asString();
            Promtool.assertValidMetrics(metrics);
            for (String name : List.of("pilot_xds ", "pilot_xds_pushes_total{type=\"lds\"", "pilot_services ",
                    "pilot_xds_push_time_seconds_count")) {
                org.junit.jupiter.api.Assertions.assertTrue(metrics.lines().anyMatch(l -> l.startsWith(name)),
                        name + " missing from /q/metrics");
            }
        }
        given().queryParam("proxyID", "nobody").get("/debug/config_dump").then().statusCode(404);
        given().get("/debug/config_dump").then().statusCode(400);
    }
}
