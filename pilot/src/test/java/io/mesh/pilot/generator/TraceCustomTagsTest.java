package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.TelemetryTest.MESH;
import static io.mesh.pilot.generator.TelemetryTest.OTHER_POD;
import static io.mesh.pilot.generator.TelemetryTest.SHOP_POD;
import static io.mesh.pilot.generator.TelemetryTest.WEB_POD;
import static io.mesh.pilot.generator.TelemetryTest.inbound;
import static io.mesh.pilot.generator.TelemetryTest.outbound;
import static io.mesh.pilot.generator.TelemetryTest.router;
import static io.mesh.pilot.generator.TelemetryTest.telemetry;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.mesh.pilot.model.MeshSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Telemetry {@code tracing[].customTags} → the {@code tracing.custom_tags} of every HCM pilot sends a router or a
 * sidecar, as istiod writes them (sorted by tag name), and how the levels combine: the most specific rule that sets
 * custom tags replaces its parent's whole map (istiod's shallow merge), per side.
 */
class TraceCustomTagsTest {

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

    static List<CustomTag> tags(HttpConnectionManager hcm) {
        return hcm.getTracing().getCustomTagsList();
    }

    @Test
    void withoutCustomTagsNoHcmCarriesAny() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", "tracing: [{randomSamplingPercentage: 10}]"));
        for (HttpConnectionManager hcm : List.of(router(s), inbound(WEB_POD, s), outbound(WEB_POD, s))) {
            assertEquals(List.of(), tags(hcm));
        }
    }

    @Test
    void meshWideTagsBecomeEnvoysLiteralEnvironmentAndRequestHeaderTagsSortedByName() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                tracing:
                - customTags:
                    team: {literal: {value: shop}}
                    pod: {environment: {name: POD_NAME, defaultValue: unknown}}
                    node: {environment: {name: NODE_NAME}}
                    user: {header: {name: x-user, defaultValue: anonymous}}"""));
        List<CustomTag> expected = List.of(environment("node", "NODE_NAME", ""),
                environment("pod", "POD_NAME", "unknown"), literal("team", "shop"), header("user", "x-user", "anonymous"));
        for (HttpConnectionManager hcm : List.of(router(s), inbound(WEB_POD, s), outbound(SHOP_POD, s))) {
            assertEquals(expected, tags(hcm));
            assertEquals(TelemetryTest.tracing(1.0, true), hcm.getTracing().toBuilder().clearCustomTags().build(),
                    "sampling and reporting as without tags");
        }
    }

    @Test
    void theMostSpecificLevelThatSetsCustomTagsReplacesItsParentsWholeMap() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                tracing:
                - customTags:
                    team: {literal: {value: platform}}
                    region: {environment: {name: REGION, defaultValue: eu}}""") + telemetry("demo", "demo-ns", """
                tracing: [{randomSamplingPercentage: 20}]""") + telemetry("demo", "web-only", """
                selector: {matchLabels: {app: web}}
                tracing:
                - customTags:
                    team: {literal: {value: web}}
                    user: {header: {name: x-user}}"""));
        // The workload's map, not merged with the root's: no region.
        List<CustomTag> web = List.of(literal("team", "web"), header("user", "x-user", ""));
        assertEquals(web, tags(inbound(WEB_POD, s)));
        assertEquals(web, tags(outbound(WEB_POD, s)));
        // The namespace sets no tags: the root's stay.
        List<CustomTag> root = List.of(environment("region", "REGION", "eu"), literal("team", "platform"));
        assertEquals(root, tags(outbound(OTHER_POD, s)));
        assertEquals(root, tags(router(s)));
    }

    @Test
    void aRuleMatchingOneSideSetsThatSidesTagsOnly() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                tracing: [{customTags: {team: {literal: {value: platform}}}}]""") + telemetry("demo", "web-only", """
                selector: {matchLabels: {app: web}}
                tracing:
                - match: {mode: SERVER}
                  customTags: {side: {literal: {value: server}}}"""));
        assertEquals(List.of(literal("side", "server")), tags(inbound(WEB_POD, s)));
        assertEquals(List.of(literal("team", "platform")), tags(outbound(WEB_POD, s)));
    }
}
