package io.mesh.pilot.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.mesh.pilot.PilotRuntime;
import io.mesh.pilot.model.ExecutorScheduler;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.RawAdsClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * xDS over mTLS (15012): a client with a certificate from the mesh root is served; one without is refused.
 * Certificates come from the real openssl; in the mesh, citadel issues them.
 */
class XdsMtlsTest {
    @TempDir
    Path dir;

    private void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        File log = dir.resolve("openssl.log").toFile();
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log)).start();
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + Files.readString(log.toPath()));
    }

    private void issue(String name, String san) throws Exception {
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
                "-out", name + ".csr", "-subj", "/O=mesh");
        Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=" + san + "\n");
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "root.crt", "-CAkey", "root.key", "-CAcreateserial",
                "-days", "1", "-extfile", name + ".ext", "-out", name + ".crt");
    }

    @Test
    void clientWithAMeshCertificateIsServedAndOneWithoutIsRefused() throws Exception {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                "root.key", "-out", "root.crt", "-subj", "/O=mesh/CN=root", "-days", "1");
        issue("pilot", "DNS:localhost,IP:127.0.0.1,URI:spiffe://cluster.local/ns/istio-system/sa/istio-pilot");
        issue("client", "URI:spiffe://cluster.local/ns/demo/sa/web");
        Path config = Files.createDirectories(dir.resolve("config"));
        Files.writeString(config.resolve("services.yaml"), MeshFixtures.serviceEntry("web", "", 9001));
        PilotRuntime.Settings settings = new PilotRuntime.Settings("127.0.0.1", 0, config, Duration.ofMillis(100),
                Duration.ofSeconds(10), 2, null, new PilotRuntime.Tls(0, dir.resolve("pilot.crt"),
                        dir.resolve("pilot.key"), dir.resolve("root.crt")));
        try (PilotRuntime pilot = new PilotRuntime(settings, new SimpleMeterRegistry(),
                new ExecutorScheduler(Executors.newSingleThreadScheduledExecutor()), () -> ServiceSource.View.EMPTY,
                (raw, reason) -> {
                }).start()) {
            String web = "web.demo.svc.cluster.local:80";
            try (RawAdsClient client = new RawAdsClient(NettyChannelBuilder.forAddress("127.0.0.1", pilot.xdsTlsPort())
                    .overrideAuthority("localhost").sslContext(GrpcSslContexts.forClient()
                            .trustManager(dir.resolve("root.crt").toFile())
                            .keyManager(dir.resolve("client.crt").toFile(), dir.resolve("client.key").toFile()).build())
                    .build(), "mtls-client", "grpc").openSotw()) {
                client.request(Resources.V3.LISTENER_TYPE_URL, List.of(web), "", "", null);
                DiscoveryResponse r = client.next(Duration.ofSeconds(10));
                assertNotNull(r, "no response over mTLS");
                assertEquals(1, r.getResourcesCount());
            }
            try (RawAdsClient anonymous = new RawAdsClient(NettyChannelBuilder.forAddress("127.0.0.1",
                    pilot.xdsTlsPort()).overrideAuthority("localhost").sslContext(GrpcSslContexts.forClient()
                            .trustManager(dir.resolve("root.crt").toFile()).build()).build(), "anon", "grpc")
                    .openSotw()) {
                anonymous.request(Resources.V3.LISTENER_TYPE_URL, List.of(web), "", "", null);
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> anonymous.error != null);
                assertNull(anonymous.next(Duration.ZERO), "a client without a certificate must be refused");
                assertEquals(io.grpc.Status.Code.UNAVAILABLE, io.grpc.Status.fromThrowable(anonymous.error).getCode());
            }
        }
    }
}
