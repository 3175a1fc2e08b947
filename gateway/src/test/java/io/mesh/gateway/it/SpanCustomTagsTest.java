package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.envoyproxy.envoy.type.metadata.v3.MetadataKey;
import io.envoyproxy.envoy.type.metadata.v3.MetadataKind;
import io.opentelemetry.proto.trace.v1.Span;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Telemetry {@code tracing[].customTags} as pilot sends them (the HCM's {@code tracing.custom_tags}): every span the
 * gateway reports for a request through that listener carries them, received over OTLP/gRPC by a real receiver. Two
 * real gateways (the fast path, and the Vert.x path) driven by real ADS servers; requests by the JDK's HTTP client. The
 * environment variable comes from the test JVM's process environment (the gateway pom's surefire configuration sets
 * {@code MESH_TEST_SPAN_TAG_ENV}).
 */
class SpanCustomTagsTest {

    static final String SET_VARIABLE = "MESH_TEST_SPAN_TAG_ENV";
    static final String UNSET_VARIABLE = "MESH_TEST_SPAN_TAG_UNSET";

    static Vertx vertx;
    static Backend web;
    static OtlpTraceReceiver receiver;
    static PathPair pair;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        web = new Backend(vertx, "web");
        receiver = new OtlpTraceReceiver();
        pair = new PathPair();
        pair.publish(ListenerTelemetryTest.withListener(web, pilotTags()));
        pair.start(Map.of(), receiver.sdk);
    }

    @AfterAll
    static void stop() throws Exception {
        pair.close();
        receiver.close();
        vertx.close();
    }

    static CustomTag literal(String tag, String value) {
        return CustomTag.newBuilder().setTag(tag).setLiteral(CustomTag.Literal.newBuilder().setValue(value)).build();
    }

    static CustomTag environment(String tag, String name, String dflt) {
        return CustomTag.newBuilder().setTag(tag).setEnvironment(CustomTag.Environment.newBuilder().setName(name)
                .setDefaultValue(dflt)).build();
    }

    static CustomTag header(String tag, String name, String dflt) {
        return CustomTag.newBuilder().setTag(tag).setRequestHeader(CustomTag.Header.newBuilder().setName(name)
                .setDefaultValue(dflt)).build();
    }

    /** The HCM as pilot's TelemetryPolicy writes it for these customTags (sorted by name), every trace sampled. */
    static HttpConnectionManager pilotTags() {
        HttpConnectionManager hcm = ListenerTelemetryTest.pilotShape(null, 100, true);
        return hcm.toBuilder().setTracing(hcm.getTracing().toBuilder().addAllCustomTags(List.of(
                environment("env.set", SET_VARIABLE, "unused"),
                environment("env.unset", UNSET_VARIABLE, "fallback"),
                environment("env.unset.nodefault", UNSET_VARIABLE, ""),
                header("host", ":authority", ""),
                literal("team", "shop"),
                header("user", "X-User", "anonymous")))).build();
    }

    /** Sends a request (with x-user when {@code user} is not null) and returns the span the gateway reported for it. */
    static Map<String, String> spanOf(int p, String user) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p + "/headers"));
        if (user != null) {
            b.header("x-user", user);
        }
        HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                .send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        String traceparent = ListenerTelemetryTest.traceparent(r.body());
        await().atMost(Duration.ofSeconds(10)).until(() -> find(traceparent) != null);
        return OtlpTraceReceiver.attributes(find(traceparent));
    }

    /** The received span that is the parent the backend saw in its traceparent. */
    static Span find(String traceparent) {
        for (Span s : receiver.spans) {
            String id = java.util.HexFormat.of().formatHex(s.getTraceId().toByteArray()) + "-"
                    + java.util.HexFormat.of().formatHex(s.getSpanId().toByteArray());
            if (traceparent.contains(id)) {
                return s;
            }
        }
        return null;
    }

    @Test
    void literalEnvironmentAndHeaderTagsAreAttributesOfTheReportedSpans() throws Exception {
        assertEquals("from-the-environment", System.getenv(SET_VARIABLE), "the surefire configuration sets it");
        publishAndAwaitAcks(pilotTags());
        for (int p : pair.ports()) {
            Map<String, String> a = spanOf(p, "alice");
            assertEquals("shop", a.get("team"), a.toString());
            assertEquals("from-the-environment", a.get("env.set"), a.toString());
            assertEquals("fallback", a.get("env.unset"), a.toString());
            assertFalse(a.containsKey("env.unset.nodefault"), "an empty value is not set, as Envoy's: " + a);
            assertEquals("alice", a.get("user"), a.toString());
            assertEquals("127.0.0.1:" + p, a.get("host"), a.toString());
            assertEquals("GET", a.get("http.request.method"), "the gateway's own attributes stay: " + a);

            Map<String, String> without = spanOf(p, null);
            assertEquals("anonymous", without.get("user"), "the header's default when it is absent: " + without);
            assertEquals("shop", without.get("team"), without.toString());
        }
    }

    @Test
    void aListenerWithoutCustomTagsReportsSpansWithoutThem() throws Exception {
        publishAndAwaitAcks(ListenerTelemetryTest.pilotShape(null, 100, true));
        for (int p : pair.ports()) {
            Map<String, String> a = spanOf(p, "bob");
            for (String tag : List.of("team", "env.set", "env.unset", "user", "host")) {
                assertFalse(a.containsKey(tag), tag + ": " + a);
            }
        }
    }

    @Test
    void aMetadataTagIsNackedWithTheReasonAndTheLastGoodTagsStay() throws Exception {
        publishAndAwaitAcks(pilotTags());
        HttpConnectionManager good = pilotTags();
        HttpConnectionManager metadata = good.toBuilder().setTracing(good.getTracing().toBuilder().addCustomTags(
                CustomTag.newBuilder().setTag("route").setMetadata(CustomTag.Metadata.newBuilder()
                        .setKind(MetadataKind.newBuilder().setRoute(MetadataKind.Route.getDefaultInstance()))
                        .setMetadataKey(MetadataKey.newBuilder().setKey("istio"))))).build();
        nacked(metadata, "tracing custom tag \"route\": metadata tags are not"
                + " supported (literal, environment and request_header are)");
        nacked(good.toBuilder().setTracing(good.getTracing().toBuilder()
                .addCustomTags(literal("empty", ""))).build(), "tracing custom tag \"empty\": the literal value is empty");
        Map<String, String> a = spanOf(pair.port, "carol");
        assertEquals("shop", a.get("team"), "the last good listener keeps serving with its tags: " + a);
        assertEquals("carol", a.get("user"), a.toString());
        assertFalse(a.containsKey("route"), a.toString());
    }

    static void publishAndAwaitAcks(HttpConnectionManager hcm) {
        pair.publishAcked(ListenerTelemetryTest.withListener(web, hcm));
    }

    /** Publishes the HCM to the fast-path gateway and waits for a NACK whose detail says {@code reason}. */
    static void nacked(HttpConnectionManager hcm, String reason) {
        pair.nacked(ListenerTelemetryTest.withListener(web, hcm), reason);
    }
}
