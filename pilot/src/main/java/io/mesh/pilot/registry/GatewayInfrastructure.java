package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a Gateway's own metadata and {@code spec.infrastructure} (Gateway API v1.1) say about the objects istiod's
 * deployment controller makes for it, read from the Gateway as its informer has it (the validated model keeps none of
 * it): as istiod's configureIstioGateway and its kube-gateway template,
 * <ul>
 * <li>{@code labels}: {@code spec.infrastructure.labels} when set, else the Gateway's own labels; on the ServiceAccount,
 * Service, Deployment and the Deployment's pods, under the labels the controller sets itself;</li>
 * <li>{@code annotations}: {@code spec.infrastructure.annotations} when set, else the Gateway's own annotations, without
 * kubectl's last-applied configuration and istiod's own ({@code gateway.istio.io/name-override},
 * {@code service-account}, {@code controller-version}); on the same objects and pods;</li>
 * <li>(keys of {@code spec.infrastructure} starting {@code gateway.networking.k8s.io/} are dropped, as istiod's);</li>
 * <li>{@code serviceAccount}: the Gateway's {@code gateway.istio.io/service-account} annotation, or null (the default
 * name);</li>
 * <li>{@code serviceType}: its {@code networking.istio.io/service-type} annotation, or null (LoadBalancer).</li>
 * </ul>
 *
 * @param uid the Gateway's {@code metadata.uid}, its objects' owner reference
 */
record GatewayInfrastructure(String uid, Map<String, String> labels, Map<String, String> annotations,
        String serviceAccount, String serviceType) {
    static final String SERVICE_ACCOUNT_ANNOTATION = "gateway.istio.io/service-account";
    static final String SERVICE_TYPE_ANNOTATION = "networking.istio.io/service-type";
    /** The Gateway's annotations that are not its objects': kubectl's and istiod's own. */
    private static final Set<String> NOT_COPIED = Set.of("kubectl.kubernetes.io/last-applied-configuration",
            "gateway.istio.io/name-override", SERVICE_ACCOUNT_ANNOTATION, "gateway.istio.io/controller-version");
    private static final String RESERVED_PREFIX = "gateway.networking.k8s.io/";

    GatewayInfrastructure {
        labels = java.util.Collections.unmodifiableMap(new TreeMap<>(labels));
        annotations = java.util.Collections.unmodifiableMap(new TreeMap<>(annotations));
    }

    /**
     * Reads {@code gateway}; a {@code spec.infrastructure.labels} or {@code annotations} that is not a map of strings
     * (which the Gateway API's CRD schema would refuse) is an {@link IllegalArgumentException} naming the field.
     */
    static GatewayInfrastructure of(GenericKubernetesResource gateway) {
        Map<String, String> own = orEmpty(gateway.getMetadata().getAnnotations());
        Object infrastructure = gateway.getAdditionalProperties().get("spec") instanceof Map<?, ?> spec
                ? spec.get("infrastructure") : null;
        Map<String, String> labels = infrastructureMap(infrastructure, "labels");
        Map<String, String> annotations = infrastructureMap(infrastructure, "annotations");
        Map<String, String> copied = new LinkedHashMap<>(annotations == null ? own : annotations);
        copied.keySet().removeAll(NOT_COPIED);
        return new GatewayInfrastructure(gateway.getMetadata().getUid(),
                labels == null ? orEmpty(gateway.getMetadata().getLabels()) : labels, copied,
                own.get(SERVICE_ACCOUNT_ANNOTATION), own.get(SERVICE_TYPE_ANNOTATION));
    }

    /** {@code spec.infrastructure.FIELD} without the Gateway API's reserved keys, or null when not set. */
    private static Map<String, String> infrastructureMap(Object infrastructure, String field) {
        Object value = infrastructure instanceof Map<?, ?> m ? m.get(field) : null;
        if (value == null) {
            return null;
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("spec.infrastructure." + field + " must map names to strings, not " + value);
        }
        Map<String, String> out = new LinkedHashMap<>();
        map.forEach((k, v) -> {
            if (!(v instanceof String s)) {
                throw new IllegalArgumentException("spec.infrastructure." + field + "." + k + " must be a string, not " + v);
            }
            if (!((String) k).startsWith(RESERVED_PREFIX)) {
                out.put((String) k, s);
            }
        });
        return out;
    }

    private static Map<String, String> orEmpty(Map<String, String> map) {
        return map == null ? Map.of() : map;
    }
}
