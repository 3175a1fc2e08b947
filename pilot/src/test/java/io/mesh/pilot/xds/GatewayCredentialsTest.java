package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Gateway's credentialName is served over SDS to the router that implements it, from local files. */
class GatewayCredentialsTest {
    @TempDir
    Path dir;

    @Test
    void routerGetsItsGatewayCertificateOverSdsAndUpdatesWhenTheFileChanges() throws Exception {
        Files.createDirectories(dir.resolve("credentials"));
        Files.writeString(dir.resolve("credentials/shop-cert.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n");
        Files.writeString(dir.resolve("credentials/shop-cert.key"), "-----BEGIN PRIVATE KEY-----\nBBBB\n");
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("gateway.yaml", Files.readString(Path.of("src/test/resources/generator/gateway.yaml")));
            await().atMost(Duration.ofSeconds(5)).until(() -> !harness.pilot.snapshot().gateways().isEmpty());
            String name = "kubernetes://shop-cert";
            try (RawAdsClient router = new RawAdsClient(harness.pilot.xdsPort(),
                    "router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
                router.openSotw();
                router.request(Resources.V3.SECRET_TYPE_URL, List.of(name), "", "", null);
                DiscoveryResponse r = router.next(Duration.ofSeconds(5));
                assertNotNull(r);
                // The router's labels do not match the Gateway's selector yet: nothing is served to it.
                assertEquals(0, r.getResourcesCount());
            }
            Struct labels = Struct.newBuilder().putFields("istio",
                    Value.newBuilder().setStringValue("ingressgateway").build()).build();
            try (RawAdsClient router = new RawAdsClient(harness.pilot.xdsPort(),
                    "router~10.0.9.9~ingress-2.istio-system~istio-system.svc.cluster.local", null)) {
                router.openSotwWithLabels(labels);
                router.request(Resources.V3.SECRET_TYPE_URL, List.of(name), "", "", null);
                DiscoveryResponse r = router.next(Duration.ofSeconds(5));
                assertEquals(1, r.getResourcesCount());
                Secret secret = r.getResources(0).unpack(Secret.class);
                assertEquals(name, secret.getName());
                assertEquals("-----BEGIN CERTIFICATE-----\nAAAA\n",
                        secret.getTlsCertificate().getCertificateChain().getInlineBytes().toStringUtf8());
                router.ack(r, List.of(name));

                Path tmp = dir.resolve("credentials/.shop-cert.crt.tmp");
                Files.writeString(tmp, "-----BEGIN CERTIFICATE-----\nCCCC\n");
                Files.move(tmp, dir.resolve("credentials/shop-cert.crt"),
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                DiscoveryResponse rotated = router.next(Duration.ofSeconds(5));
                assertNotNull(rotated, "a rotated certificate must be pushed");
                assertEquals("-----BEGIN CERTIFICATE-----\nCCCC\n", rotated.getResources(0).unpack(Secret.class)
                        .getTlsCertificate().getCertificateChain().getInlineBytes().toStringUtf8());
            }
        }
    }
}
