package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Graceful drain: in-flight requests finish, readiness turns 503 at once, then the listener is gone. */
class DrainTest {

    @Test
    void shutdownFinishesInFlightRequestsThenStopsListening() throws Exception {
        Vertx vertx = Vertx.vertx();
        Backend web = new Backend(vertx, "web");
        try (ControlPlane pilot = new ControlPlane()) {
            int port = FreePorts.next();
            pilot.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                    List.of(Xds.httpListener("http", port, "http.80")),
                    List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", "web")))), List.of());
            TestGateway gw = TestGateway.ready(pilot, Map.of("mesh.gateway.listeners.drain-timeout", "10s"));
            // HTTP/1.1: JDK 17's client fails in-flight HTTP/2 streams on any GOAWAY, even a graceful one.
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            CompletableFuture<HttpResponse<String>> slow = http.sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/slow?ms=1500")).build(), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(5)).until(() -> web.hits.get() > 0);
            var stopping = gw.gateway.stop().toCompletionStage().toCompletableFuture();
            await().atMost(Duration.ofSeconds(5)).until(() -> gw.gateway.dataPlane().draining());
            HttpResponse<String> r = slow.get(10, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            assertEquals("web", r.body());
            stopping.get(15, TimeUnit.SECONDS);
            assertThrows(ConnectException.class, () -> {
                try {
                    HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
                            HttpResponse.BodyHandlers.ofString());
                } catch (java.io.IOException e) {
                    throw e instanceof ConnectException ? e : (e.getCause() instanceof ConnectException c ? c : e);
                }
            });
            gw.vertx.close();
        } finally {
            vertx.close();
        }
    }
}
