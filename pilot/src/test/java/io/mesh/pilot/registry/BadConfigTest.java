package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.VirtualService;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.PilotHarness;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An invalid resource is rejected with its reason; its last good version and everything else keep working. */
class BadConfigTest {
    @TempDir
    Path dir;
    PilotHarness harness;

    @BeforeEach
    void start() {
        harness = new PilotHarness(dir);
        harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001) + "---\n"
                + MeshFixtures.serviceEntry("backend", "", 9002));
        harness.write("web-vs.yaml", MeshFixtures.canary(50, 50));
        harness.write("backend-vs.yaml", MeshFixtures.canary(100, 0).replace("name: web", "name: backend")
                .replace("  - web\n", "  - backend\n"));
        await().atMost(Duration.ofSeconds(5)).until(() -> harness.pilot.snapshot().meshRoutes().size() == 2);
    }

    @AfterEach
    void stop() {
        harness.close();
    }

    private ConfigStore.Status status(String kind, String name) {
        return harness.pilot.store().status().stream()
                .filter(s -> s.key().kind().equals(kind) && s.key().name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void seedArticleYamlIsRejectedAndTheLastGoodVersionStaysInForce() {
        harness.write("web-vs.yaml", MeshFixtures.SEED_ARTICLE_VS);
        await().atMost(Duration.ofSeconds(5)).until(() -> status("VirtualService", "web").rejectedReason() != null);
        ConfigStore.Status web = status("VirtualService", "web");
        assertTrue(web.rejectedReason().contains("route: - destination: {host: ...}"), web.rejectedReason());
        assertTrue(web.inForce(), "the last good version must stay in force");
        List<VirtualService> inForce = harness.pilot.snapshot().meshRoutes().get("web.demo.svc.cluster.local");
        assertEquals(50, inForce.get(0).http().get(0).route().get(0).weight());
        assertEquals(1.0, harness.metrics.find("pilot_config_rejections").tag("kind", "VirtualService").counter()
                .count());

        // Other resources still change and apply while web is broken.
        harness.write("backend-vs.yaml", MeshFixtures.canary(30, 70).replace("name: web", "name: backend")
                .replace("  - web\n", "  - backend\n"));
        await().atMost(Duration.ofSeconds(5)).until(() -> harness.pilot.snapshot().meshRoutes()
                .get("backend.demo.svc.cluster.local").get(0).http().get(0).route().get(0).weight() == 30);

        // Fixing it clears the rejection.
        harness.write("web-vs.yaml", MeshFixtures.canary(90, 10));
        await().atMost(Duration.ofSeconds(5)).until(() -> status("VirtualService", "web").rejectedReason() == null
                && harness.pilot.snapshot().meshRoutes().get("web.demo.svc.cluster.local").get(0).http().get(0)
                        .route().get(0).weight() == 90);
    }

    @Test
    void aNewInvalidResourceIsRecordedButNeverInForce() {
        harness.write("broken.yaml", MeshFixtures.canary(10, 10).replace("name: web", "name: broken"));
        await().atMost(Duration.ofSeconds(5)).until(() -> harness.pilot.store().status().stream()
                .anyMatch(s -> s.key().name().equals("broken")));
        ConfigStore.Status broken = status("VirtualService", "broken");
        assertTrue(broken.rejectedReason().contains("weights must sum to 100, got 20"), broken.rejectedReason());
        assertTrue(!broken.inForce());
    }

    @Test
    void aServiceEntryAddressThatIsNoIpIsRejectedAndItsLastGoodAddressesStay() {
        String db = """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: db, namespace: demo}
                spec:
                  hosts: [db.demo.svc.cluster.local]
                  addresses: [%s]
                  location: MESH_INTERNAL
                  ports: [{number: 9000, name: tcp, protocol: TCP}]
                  resolution: STATIC
                  endpoints: [{address: 127.0.0.1}]
                """;
        harness.write("db.yaml", db.formatted("198.51.100.100, 198.51.100.101/32, 10.20.0.0/16"));
        await().atMost(Duration.ofSeconds(5)).until(() -> harness.pilot.snapshot().services()
                .containsKey("db.demo.svc.cluster.local"));
        // A /32 is its IP; the wider block is no VIP.
        assertEquals(List.of("198.51.100.100", "198.51.100.101"),
                harness.pilot.snapshot().services().get("db.demo.svc.cluster.local").addresses());

        harness.write("db.yaml", db.formatted("198.51.100.100, db.example.com, 10.0.0.0/33"));
        await().atMost(Duration.ofSeconds(5)).until(() -> status("ServiceEntry", "db").rejectedReason() != null);
        ConfigStore.Status status = status("ServiceEntry", "db");
        assertTrue(status.rejectedReason().contains(
                "spec.addresses[1]: \"db.example.com\" is not an IP address or a CIDR block"), status.rejectedReason());
        assertTrue(status.rejectedReason().contains(
                "spec.addresses[2]: \"10.0.0.0/33\" is not an IP address or a CIDR block"), status.rejectedReason());
        assertTrue(status.inForce());
        assertEquals(List.of("198.51.100.100", "198.51.100.101"),
                harness.pilot.snapshot().services().get("db.demo.svc.cluster.local").addresses());
    }

    @Test
    void aGatewayIstiodRejectsForItsTlsIsRejectedAndItsLastGoodServersStay() {
        String edge = """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: east-west, namespace: istio-system}
                spec:
                  selector: {istio: eastwestgateway}
                  servers:
                  - port: {number: 15443, name: tls-mesh, protocol: TLS}
                    hosts: ["*.local"]
                    tls: %s
                """;
        harness.write("east-west.yaml", edge.formatted("{mode: ISTIO_MUTUAL}"));
        await().atMost(Duration.ofSeconds(5)).until(() -> harness.pilot.snapshot().gateways().stream()
                .anyMatch(g -> g.name().equals("east-west")));

        // istiod's validateTLSOptions: ISTIO_MUTUAL uses the gateway's own certificate, so a credentialName is an error.
        harness.write("east-west.yaml", edge.formatted("{mode: ISTIO_MUTUAL, credentialName: east-west-cert}"));
        await().atMost(Duration.ofSeconds(5)).until(() -> status("Gateway", "east-west").rejectedReason() != null);
        ConfigStore.Status status = status("Gateway", "east-west");
        assertEquals("spec.servers[0].tls.credentialName: ISTIO_MUTUAL TLS cannot have an associated credentialName: it"
                + " uses the gateway's own mesh certificate", status.rejectedReason());
        assertTrue(status.inForce(), "the last good version must stay in force");
        var tls = harness.pilot.snapshot().gateways().stream().filter(g -> g.name().equals("east-west")).findFirst()
                .orElseThrow().servers().get(0).tls();
        assertEquals("ISTIO_MUTUAL", tls.mode());
        assertEquals(null, tls.credentialName());
    }
}
