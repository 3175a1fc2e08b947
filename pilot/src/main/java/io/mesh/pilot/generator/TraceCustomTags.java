package io.mesh.pilot.generator;

import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.mesh.config.Telemetry;
import io.mesh.config.TelemetryCustomTag;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A proxy's Telemetry {@code tracing[].customTags} on one side → Envoy's {@code HttpConnectionManager.tracing
 * .custom_tags}, as istiod makes them: of the rules that apply (root namespace, namespace, workload; least specific
 * first), the last one that sets custom tags decides them all, its map replacing the parent's rather than merging with
 * it (istiod's {@code Telemetries.Tracing}: "here we do a shallow merge"); then each becomes a CustomTag, literal,
 * environment or request_header (with its default value), sorted by tag name (istiod's configureCustomTags). Istio's
 * own tags (istio.canonical_service, ... with {@code enableIstioTags}) are not added: the mesh's HCMs never carried them.
 * Pure: no state.
 */
final class TraceCustomTags {

    private TraceCustomTags() {
    }

    /** The custom tags of the rules that apply to a side, least specific first; empty when none sets any. */
    static List<CustomTag> resolve(List<Telemetry.Tracing> rules) {
        Map<String, TelemetryCustomTag> tags = Map.of();
        for (Telemetry.Tracing rule : rules) {
            if (rule.customTags() != null) {
                tags = rule.customTags();
            }
        }
        List<CustomTag> out = new ArrayList<>(tags.size());
        new TreeMap<>(tags).forEach((name, tag) -> out.add(envoy(name, tag)));
        return List.copyOf(out);
    }

    private static CustomTag envoy(String name, TelemetryCustomTag tag) {
        CustomTag.Builder b = CustomTag.newBuilder().setTag(name);
        String dflt = tag.defaultValue() == null ? "" : tag.defaultValue();
        return switch (tag.kind()) {
            case LITERAL -> b.setLiteral(CustomTag.Literal.newBuilder().setValue(tag.value())).build();
            case ENVIRONMENT -> b.setEnvironment(CustomTag.Environment.newBuilder().setName(tag.name())
                    .setDefaultValue(dflt)).build();
            case HEADER -> b.setRequestHeader(CustomTag.Header.newBuilder().setName(tag.name())
                    .setDefaultValue(dflt)).build();
        };
    }
}
