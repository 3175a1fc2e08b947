package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.model.JwksSource;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A RequestAuthentication's jwksUri, served by a real HTTP server on 127.0.0.1, through pilot's whole pipeline (local
 * folder, snapshot, ADS): the router's LDS carries the fetched JWKS inline, and serving another JWKS pushes new LDS.
 */
class JwksPushTest {
    static final String JWKS = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k1\",\"n\":\"sXch\"}]}";
    static final String JWKS_2 = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k2\",\"n\":\"tYdi\"}]}";

    @TempDir
    Path dir;

    /** The inline JWKS of the jwt_authn provider "issuer-1" on the router's 0.0.0.0_8080, or null when none. */
    static String inlinedJwks(DiscoveryResponse lds) throws Exception {
        for (var any : lds.getResourcesList()) {
            Listener l = any.unpack(Listener.class);
            if (!l.getName().equals("0.0.0.0_8080")) {
                continue;
            }
            HttpConnectionManager hcm = l.getFilterChains(0).getFilters(0).getTypedConfig()
                    .unpack(HttpConnectionManager.class);
            for (HttpFilter f : hcm.getHttpFiltersList()) {
                if (f.getName().equals("envoy.filters.http.jwt_authn")) {
                    return f.getTypedConfig().unpack(JwtAuthentication.class).getProvidersOrThrow("issuer-1")
                            .getLocalJwks().getInlineString();
                }
            }
        }
        return null;
    }

    /** Reads (and ACKs) LDS responses until one inlines {@code expected}. */
    /** An ingress gateway (labels istio: ingressgateway) on pilot's ADS, its LDS requested. */
    static RawAdsClient ingressRouter(PilotHarness harness) {
        Struct labels = Struct.newBuilder().putFields("istio",
                Value.newBuilder().setStringValue("ingressgateway").build()).build();
        RawAdsClient router = new RawAdsClient(harness.pilot.xdsPort(),
                "router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local", null);
        router.openSotwWithLabels(labels);
        router.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
        return router;
    }

    static void awaitLds(RawAdsClient router, String expected) throws Exception {
        Instant deadline = Instant.now().plusSeconds(15);
        String last = null;
        while (Instant.now().isBefore(deadline)) {
            DiscoveryResponse r = router.next(Duration.ofMillis(500));
            if (r == null) {
                continue;
            }
            router.ack(r, List.of());
            last = inlinedJwks(r);
            if (expected.equals(last)) {
                return;
            }
        }
        throw new AssertionError("no LDS inlined " + expected + "; the last one had " + last);
    }

    @Test
    void theRoutersLdsInlinesTheJwksPilotFetchedAndAChangedJwksIsPushed() throws Exception {
        AtomicReference<String> served = new AtomicReference<>(JWKS);
        HttpServer server = jwksServer(served::get, Duration.ZERO);
        String uri = "http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json";
        try (PilotHarness harness = new PilotHarness(dir)) {
            // Refetch often, so the change below reaches the router within the test.
            harness.pilot.withJwksRefresh(Duration.ofMillis(200), Duration.ofMillis(200));
            harness.write("gateway.yaml", Files.readString(Path.of("src/test/resources/generator/gateway.yaml")) + """
                    ---
                    apiVersion: security.istio.io/v1
                    kind: RequestAuthentication
                    metadata: {name: edge-jwt, namespace: istio-system}
                    spec:
                      selector: {matchLabels: {istio: ingressgateway}}
                      jwtRules:
                      - issuer: issuer-1
                        jwksUri: "%s"
                    """.formatted(uri));
            await().atMost(Duration.ofSeconds(10)).until(() -> JWKS.equals(harness.pilot.snapshot().jwks().get(uri)));
            try (RawAdsClient router = ingressRouter(harness)) {
                DiscoveryResponse first = router.next(Duration.ofSeconds(5));
                assertNotNull(first);
                assertEquals(JWKS, inlinedJwks(first));
                router.ack(first, List.of());

                served.set(JWKS_2);
                awaitLds(router, JWKS_2);
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aRequestAuthenticationInConfigWhenPilotStartsHasItsJwksInTheFirstSnapshotServed() throws Exception {
        // A slow issuer: its answer comes well after pilot could have started without it.
        HttpServer server = jwksServer(() -> JWKS, Duration.ofMillis(1500));
        String uri = "http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json";
        try {
            // The config is there before pilot starts, as when pilot restarts.
            Files.writeString(dir.resolve("gateway.yaml"), gatewayWithJwksUri(uri));
            try (PilotHarness harness = new PilotHarness(dir)) {
                // No waiting: the snapshot pilot started with, the one a reconnecting router gets first.
                assertEquals(JWKS, harness.pilot.snapshot().jwks().get(uri));
                try (RawAdsClient router = ingressRouter(harness)) {
                    assertEquals(JWKS, inlinedJwks(router.next(Duration.ofSeconds(5))));
                }
            }
        } finally {
            server.stop(0);
        }
    }

    /** The ingress Gateway of the generator tests and a RequestAuthentication of issuer-1 whose keys are at {@code uri}. */
    static String gatewayWithJwksUri(String uri) throws java.io.IOException {
        return Files.readString(Path.of("src/test/resources/generator/gateway.yaml")) + """
                ---
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: edge-jwt, namespace: istio-system}
                spec:
                  jwtRules: [{issuer: issuer-1, jwksUri: "%s"}]
                """.formatted(uri);
    }

    /** An HTTP server on 127.0.0.1 answering /jwks.json with what {@code jwks} gives, each answer {@code delay} late. */
    static HttpServer jwksServer(java.util.function.Supplier<String> jwks, Duration delay) throws java.io.IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/jwks.json", exchange -> {
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = jwks.get().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }

    @Test
    void aJwksUriThatNeverAnswersGivesTheRouterTheRejectingJwks() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(500, -1);
            exchange.close();
        });
        server.start();
        String uri = "http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json";
        try (PilotHarness harness = new PilotHarness(dir)) {
            harness.write("gateway.yaml", gatewayWithJwksUri(uri));
            await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().jwks().containsKey(uri));
            try (RawAdsClient router = ingressRouter(harness)) {
                DiscoveryResponse first = router.next(Duration.ofSeconds(5));
                assertEquals(JwksSource.rejecting(uri), inlinedJwks(first));
            }
        } finally {
            server.stop(0);
        }
    }
}
