package io.mesh.injector.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mesh.injector.Fixtures;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class InjectionPolicyTest {

    /** namespace label, pod label, pod annotation -> skip reason ("" = injected). "-" means absent. */
    @ParameterizedTest(name = "ns={0} label={1} annotation={2}")
    @CsvSource(delimiter = '|', value = {
        "enabled  | -     | -     | ''",
        "-        | -     | -     | namespace shop is not labelled istio-injection=enabled",
        "enabled  | false | -     | the pod has sidecar.istio.io/inject=false",
        "enabled  | -     | false | the pod has sidecar.istio.io/inject=false",
        "-        | true  | -     | ''",
        "-        | -     | yes   | ''",
        "-        | on    | -     | ''",
        "enabled  | true  | false | ''",
        "enabled  | false | true  | the pod has sidecar.istio.io/inject=false",
        "enabled  | maybe | -     | the pod has sidecar.istio.io/inject=maybe",
        "disabled | true  | -     | namespace shop has istio-injection=disabled",
        "other    | -     | -     | namespace shop is not labelled istio-injection=enabled",
    })
    void namespaceLabelAndPodOverrideDecide(String namespaceLabel, String podLabel, String podAnnotation, String expected) {
        ObjectNode pod = pod();
        if (!podLabel.equals("-")) {
            ((ObjectNode) pod.path("metadata").path("labels")).put(InjectionPolicy.INJECT, podLabel);
        }
        if (!podAnnotation.equals("-")) {
            ((ObjectNode) pod.path("metadata")).putObject("annotations").put(InjectionPolicy.INJECT, podAnnotation);
        }
        Map<String, String> labels = namespaceLabel.equals("-") ? Map.of() : Map.of(InjectionPolicy.NAMESPACE_LABEL, namespaceLabel);
        assertEquals(expected, InjectionPolicy.skipReason(new PodView(pod), "shop", labels).orElse(""));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "kube-system | namespace kube-system is never injected",
        "kube-public | namespace kube-public is never injected",
    })
    void systemNamespacesAreNeverInjected(String namespace, String expected) {
        ObjectNode pod = pod();
        ((ObjectNode) pod.path("metadata").path("labels")).put(InjectionPolicy.INJECT, "true");
        assertEquals(expected, InjectionPolicy.skipReason(new PodView(pod), namespace,
                Map.of(InjectionPolicy.NAMESPACE_LABEL, "enabled")).orElse(""));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "hostNetwork   | the pod uses the host network",
        "status        | the pod is already injected",
        "proxyByName   | the pod is already injected",
    })
    void hostNetworkAndInjectedPodsAreLeftAlone(String variant, String expected) {
        ObjectNode pod = pod();
        ((ObjectNode) pod.path("metadata").path("labels")).put(InjectionPolicy.INJECT, "true");
        switch (variant) {
            case "hostNetwork" -> ((ObjectNode) pod.path("spec")).put("hostNetwork", true);
            case "status" -> ((ObjectNode) pod.path("metadata")).putObject("annotations").put(InjectionPolicy.STATUS, "{}");
            default -> ((com.fasterxml.jackson.databind.node.ArrayNode) pod.path("spec").path("containers"))
                    .addObject().put("name", "istio-proxy");
        }
        assertEquals(expected, InjectionPolicy.skipReason(new PodView(pod), "shop",
                Map.of(InjectionPolicy.NAMESPACE_LABEL, "enabled")).orElse(""));
    }

    private static ObjectNode pod() {
        ObjectNode pod = Fixtures.JSON.createObjectNode();
        pod.putObject("metadata").put("name", "app").putObject("labels").put("app", "app");
        pod.putObject("spec").putArray("containers").addObject().put("name", "app").put("image", "app:1");
        return pod;
    }
}
