package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** istiod's GetTrafficDistribution: a known spec value wins, else the annotation without case, else ANY. */
class TrafficDistributionTest {
    @ParameterizedTest(name = "spec {0}, annotation {1} -> {2}")
    @CsvSource(nullValues = "-", value = {
        "PreferClose,    -,              PREFER_SAME_ZONE",
        "PreferSameZone, -,              PREFER_SAME_ZONE",
        "PreferSameNode, -,              PREFER_SAME_NODE",
        "PreferSameNode, PreferSameZone, PREFER_SAME_NODE",
        "-,              preferclose,    PREFER_SAME_ZONE",
        "-,              PREFERSAMEZONE, PREFER_SAME_ZONE",
        "-,              PreferSameNode, PREFER_SAME_NODE",
        "SomethingNew,   PreferSameNode, PREFER_SAME_NODE",
        "SomethingNew,   -,              ANY",
        "-,              Nearby,         ANY",
        "-,              -,              ANY",
        "preferclose,    -,              ANY",
    })
    void theSpecValueWinsThenTheAnnotation(String spec, String annotation, TrafficDistribution expected) {
        Map<String, String> annotations = new HashMap<>();
        if (annotation != null) {
            annotations.put(TrafficDistribution.ANNOTATION, annotation);
        }
        assertEquals(expected, TrafficDistribution.of(spec, annotations));
    }
}
