package io.mesh.pilot.generator;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;

/**
 * Which Istio resource a route or a cluster comes from, as istiod records it ({@code AddConfigInfoMetadata}): the
 * {@code istio} filter metadata's {@code config}, {@code /apis/GROUP/VERSION/namespaces/NS/KIND/NAME} with the kind in
 * kebab case. istiod puts it on each route of a VirtualService and on each cluster a DestinationRule configures;
 * {@code istioctl proxy-config} and {@code istioctl x describe} read it to name the resource.
 */
final class ConfigMetadata {
    /** The version istiod reads Istio's networking kinds in (networking.istio.io/v1 since Istio 1.22). */
    static final String NETWORKING = "networking.istio.io/v1";

    private ConfigMetadata() {
    }

    static String path(String groupVersion, String namespace, String kebabKind, String name) {
        return "/apis/" + groupVersion + "/namespaces/" + namespace + "/" + kebabKind + "/" + name;
    }

    static Metadata virtualService(String namespace, String name) {
        return Metadata.newBuilder().putFilterMetadata(TelemetryMetadata.FILTER, config(
                path(NETWORKING, namespace, "virtual-service", name))).build();
    }

    /** {@code metadata} with the DestinationRule's {@code config} added to its {@code istio} struct. */
    static Metadata withDestinationRule(Metadata metadata, String namespace, String name) {
        Struct istio = metadata.getFilterMetadataOrDefault(TelemetryMetadata.FILTER, Struct.getDefaultInstance());
        return metadata.toBuilder().putFilterMetadata(TelemetryMetadata.FILTER, istio.toBuilder()
                .putFields("config", string(path(NETWORKING, namespace, "destination-rule", name))).build()).build();
    }

    private static Struct config(String path) {
        return Struct.newBuilder().putFields("config", string(path)).build();
    }

    private static Value string(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
