package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.metadata.v3.MetadataKey;
import io.envoyproxy.envoy.type.metadata.v3.MetadataKind;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.mesh.gateway.model.SpanTags;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An HCM's {@code tracing.custom_tags} → the span tags the gateway sets, as Envoy builds them, or the NACK's reason. */
class CustomTagTranslatorTest {

    static final Map<String, String> ENV = Map.of("POD_NAME", "web-1", "EMPTY", "");

    static SpanTags translate(CustomTag... tags) throws ConfigRejected {
        return CustomTagTranslator.translate(List.of(tags), "listener http", ENV::get);
    }

    static CustomTag.Builder tag(String name) {
        return CustomTag.newBuilder().setTag(name);
    }

    @Test
    void literalAndEnvironmentTagsAreFixedWhenAppliedAndHeaderTagsAreReadPerRequest() throws Exception {
        SpanTags t = translate(
                tag("team").setLiteral(CustomTag.Literal.newBuilder().setValue("shop")).build(),
                tag("pod").setEnvironment(CustomTag.Environment.newBuilder().setName("POD_NAME").setDefaultValue("x")).build(),
                tag("node").setEnvironment(CustomTag.Environment.newBuilder().setName("NODE_NAME").setDefaultValue("n/a")).build(),
                tag("none").setEnvironment(CustomTag.Environment.newBuilder().setName("NODE_NAME")).build(),
                tag("empty").setEnvironment(CustomTag.Environment.newBuilder().setName("EMPTY").setDefaultValue("d")).build(),
                tag("user").setRequestHeader(CustomTag.Header.newBuilder().setName("X-User").setDefaultValue("anon")).build(),
                tag("team").setLiteral(CustomTag.Literal.newBuilder().setValue("second")).build());
        assertEquals(List.of(new SpanTags.Fixed("team", "shop"), new SpanTags.Fixed("pod", "web-1"),
                new SpanTags.Fixed("node", "n/a")), t.fixed(), "an unset variable without default, or an empty value,"
                + " sets nothing; of two tags with one name the first counts");
        assertEquals(List.of(new SpanTags.Header("user", "x-user", "anon")), t.headers());
    }

    @Test
    void noCustomTagsCostNothing() throws Exception {
        assertNull(translate());
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setTracing(HttpConnectionManager.Tracing
                .getDefaultInstance()).build();
        assertNull(HcmTelemetryTranslator.translate(hcm, "listener http").spanTags());
    }

    @Test
    void unsupportedOrInvalidTagsAreRejectedWithTheReason() {
        assertEquals("listener http: tracing custom tag \"route\": metadata tags are not supported (literal, environment"
                + " and request_header are)", assertThrows(ConfigRejected.class, () -> translate(tag("route")
                        .setMetadata(CustomTag.Metadata.newBuilder().setKind(MetadataKind.newBuilder()
                                .setRequest(MetadataKind.Request.getDefaultInstance()))
                                .setMetadataKey(MetadataKey.newBuilder().setKey("istio"))).build())).getMessage());
        assertEquals("listener http: tracing custom tag \"x\": no tag kind this gateway knows is set (literal,"
                + " environment and request_header are supported)",
                assertThrows(ConfigRejected.class, () -> translate(tag("x").build())).getMessage());
        assertEquals("listener http: tracing custom tag: the tag name is empty", assertThrows(ConfigRejected.class,
                () -> translate(tag("").setLiteral(CustomTag.Literal.newBuilder().setValue("v")).build())).getMessage());
        assertEquals("listener http: tracing custom tag \"e\": the environment variable name is empty",
                assertThrows(ConfigRejected.class, () -> translate(tag("e").setEnvironment(
                        CustomTag.Environment.getDefaultInstance()).build())).getMessage());
        assertEquals("listener http: tracing custom tag \"h\": the request header name is empty",
                assertThrows(ConfigRejected.class, () -> translate(tag("h").setRequestHeader(
                        CustomTag.Header.getDefaultInstance()).build())).getMessage());
    }
}
