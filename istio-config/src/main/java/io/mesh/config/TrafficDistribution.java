package io.mesh.config;

import java.util.Locale;
import java.util.Map;

/**
 * A service's traffic distribution, as istiod reads it (istio/istio {@code pilot/pkg/model/service.go},
 * GetTrafficDistribution): a Kubernetes Service's {@code spec.trafficDistribution}, else the
 * {@code networking.istio.io/traffic-distribution} annotation of the Service or ServiceEntry. {@code PreferClose} is
 * Kubernetes' older name for {@code PreferSameZone}. What it does to endpoints is the generator's business
 * (locality priorities, {@code io.mesh.pilot.generator.LocalityLoadBalancer}).
 */
public enum TrafficDistribution {
    /** No preference (istiod's TrafficDistributionAny): the mesh's and DestinationRules' locality settings apply. */
    ANY,
    /** Same network, then region, then zone first. */
    PREFER_SAME_ZONE,
    /** Same network, region, zone, subzone, then node first. */
    PREFER_SAME_NODE;

    public static final String ANNOTATION = "networking.istio.io/traffic-distribution";

    /**
     * istiod's order: a known {@code spec} value wins; otherwise (absent, or a value it does not know) the annotation,
     * compared without case; anything else is {@link #ANY}.
     */
    public static TrafficDistribution of(String spec, Map<String, String> annotations) {
        if (spec != null) {
            switch (spec) {
                case "PreferSameZone", "PreferClose":
                    return PREFER_SAME_ZONE;
                case "PreferSameNode":
                    return PREFER_SAME_NODE;
                default:
                    break;
            }
        }
        return ofAnnotation(annotations);
    }

    /** The annotation's value alone: ServiceEntries have no spec field (istiod passes none). */
    public static TrafficDistribution ofAnnotation(Map<String, String> annotations) {
        String value = annotations == null ? null : annotations.get(ANNOTATION);
        return switch (value == null ? "" : value.toLowerCase(Locale.ROOT)) {
            case "preferclose", "prefersamezone" -> PREFER_SAME_ZONE;
            case "prefersamenode" -> PREFER_SAME_NODE;
            default -> ANY;
        };
    }

    /**
     * The annotation's value when it is set but not one istiod knows (istiod warns "Unknown traffic distribution
     * annotation, defaulting to any"); null otherwise.
     */
    public static String unknownAnnotation(Map<String, String> annotations) {
        String value = annotations == null ? null : annotations.get(ANNOTATION);
        return value != null && !value.isEmpty() && ofAnnotation(annotations) == ANY ? value : null;
    }
}
