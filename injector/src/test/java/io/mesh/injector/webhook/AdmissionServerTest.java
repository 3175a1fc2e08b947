package io.mesh.injector.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mesh.injector.Fixtures;
import io.mesh.injector.WebhookClient;
import io.mesh.injector.tls.SelfSignedCertificateSource;
import io.mesh.injector.tls.ServingCertificate;
import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The generic admission server with stand-in handlers: failures become denials, never a dropped request. */
class AdmissionServerTest {

    private Vertx vertx;
    private AdmissionServer server;
    private WebhookClient client;
    private SelfSignedCertificateSource certificates;

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        certificates = new SelfSignedCertificateSource(List.of("localhost"), Duration.ofHours(1), Clock.systemUTC());
        ServingCertificate certificate = certificates.issue();
        server = new AdmissionServer(vertx, Map.of(
                "/throws", request -> {
                    throw new IllegalStateException("boom");
                },
                "/fails-later", request -> CompletableFuture.failedFuture(new IllegalStateException("later")),
                "/async", request -> CompletableFuture.supplyAsync(() -> AdmissionResult.deny("checked " + request.name()))),
                new AdmissionReviewCodec(new ObjectMapper()));
        int port = FreePorts.next();
        server.start("127.0.0.1", port, 2, certificate.keyCertOptions()).toCompletionStage().toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        client = new WebhookClient(certificate.trustBundlePem(), port);
    }

    @AfterEach
    void stop() throws Exception {
        server.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void handlerThatThrowsDeniesTheRequestWithTheError() throws Exception {
        for (String path : List.of("/throws", "/fails-later")) {
            JsonNode response = post(path).path("response");
            assertFalse(response.path("allowed").asBoolean(), path);
            assertTrue(response.path("status").path("message").asText().contains("internal error"), response.toString());
        }
    }

    @Test
    void handlerMayAnswerFromAnotherThread() throws Exception {
        JsonNode response = post("/async").path("response");
        assertFalse(response.path("allowed").asBoolean());
        assertEquals("checked web-0", response.path("status").path("message").asText());
    }

    @Test
    void oversizedBodyIsRefusedWith413() {
        String body = "{\"pad\":\"" + "x".repeat(AdmissionServer.MAX_BODY_BYTES) + "\"}";
        HttpResponse<String> response = client.send(java.net.http.HttpRequest.newBuilder(client.injectUri().resolve("/async"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)));
        assertEquals(413, response.statusCode());
    }

    @Test
    void newCertificateIsServedAfterAnUpdate() throws Exception {
        ServingCertificate next = certificates.issue();
        server.updateCertificate(next.keyCertOptions()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        String newCaOnly = next.trustBundlePem().substring(0, next.trustBundlePem().indexOf("-----END CERTIFICATE-----") + 26);
        WebhookClient fresh = new WebhookClient(newCaOnly, client.injectUri().getPort());
        HttpResponse<String> response = fresh.send(java.net.http.HttpRequest.newBuilder(client.injectUri().resolve("/async"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(review().toString())));
        assertEquals(java.net.http.HttpClient.Version.HTTP_2, response.version(), "h2 is still negotiated by ALPN");
        JsonNode answer = Fixtures.JSON.readTree(response.body());
        assertEquals("checked web-0", answer.path("response").path("status").path("message").asText());
    }

    private JsonNode post(String path) throws Exception {
        HttpResponse<String> response = client.send(java.net.http.HttpRequest.newBuilder(client.injectUri().resolve(path))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(review().toString())));
        assertEquals(200, response.statusCode(), response.body());
        return Fixtures.JSON.readTree(response.body());
    }

    private static JsonNode review() {
        var pod = Fixtures.JSON.createObjectNode();
        pod.putObject("metadata").put("name", "web-0").put("namespace", "shop");
        pod.putObject("spec").putArray("containers").addObject().put("name", "web");
        return Fixtures.admissionReview(pod);
    }
}
