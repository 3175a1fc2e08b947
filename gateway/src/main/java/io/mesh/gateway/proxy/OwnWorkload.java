package io.mesh.gateway.proxy;

import io.mesh.gateway.GatewayConfig;
import java.util.Map;
import java.util.Optional;

/**
 * This proxy's workload as Istio's metrics name it on the proxy's own side of a request (the source of what it sends,
 * the destination of what its workload serves): the workload and its namespace, the {@code app} and {@code version}
 * labels, and the canonical service and revision, found as Istio finds them. The workload is the node's
 * {@code WORKLOAD_NAME} (the injector's {@code ISTIO_META_WORKLOAD_NAME}), as Istio's stats filter and metadata exchange
 * take it (istio/proxy {@code extensions/common/metadata_object.cc}), else the canonical service setting or the
 * {@code app} label; the labels are the node's {@code LABELS}; the canonical service and revision the injector's
 * settings, else the {@code service.istio.io/canonical-*}, {@code app.kubernetes.io/*} and {@code app}/{@code version}
 * labels, else the workload's name and {@code latest}.
 */
record OwnWorkload(String workload, String namespace, String app, String version, String canonicalService,
        String canonicalRevision) {

    /** From this proxy's xDS node: its {@code LABELS} and {@code WORKLOAD_NAME}. */
    static OwnWorkload of(GatewayConfig config, io.envoyproxy.envoy.config.core.v3.Node node) {
        Map<String, String> labels = new java.util.LinkedHashMap<>();
        node.getMetadata().getFieldsOrDefault("LABELS", com.google.protobuf.Value.getDefaultInstance()).getStructValue()
                .getFieldsMap().forEach((k, v) -> labels.put(k, v.getStringValue()));
        String name = node.getMetadata().getFieldsOrDefault("WORKLOAD_NAME", com.google.protobuf.Value.getDefaultInstance())
                .getStringValue();
        return of(config, labels, name);
    }

    private static OwnWorkload of(GatewayConfig config, Map<String, String> labels, String workloadName) {
        String workload = workloadName != null && !workloadName.isBlank() ? workloadName
                : io.mesh.gateway.Gateway.workload(config, labels);
        return new OwnWorkload(workload, config.node().namespace(), labels.getOrDefault("app", workload),
                labels.getOrDefault("version", "unknown"),
                first(config.canonicalService(), labels, "service.istio.io/canonical-name", "app.kubernetes.io/name", "app")
                        .orElse(workload),
                first(config.canonicalRevision(), labels, "service.istio.io/canonical-revision", "app.kubernetes.io/version",
                        "version").orElse("latest"));
    }

    private static Optional<String> first(Optional<String> setting, Map<String, String> labels, String... keys) {
        if (setting.isPresent() && !setting.get().isBlank()) {
            return setting;
        }
        for (String k : keys) {
            String v = labels.get(k);
            if (v != null && !v.isBlank()) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
