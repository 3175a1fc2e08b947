package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which documents hold pods, and where, for meshctl kube-inject (the kinds istioctl kube-inject handles). */
class PodTemplatesTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @ParameterizedTest(name = "{0} {1}: {2}")
    @CsvSource({
            "v1,                    Pod,                   the pod",
            "v1,                    ReplicationController, spec.template",
            "apps/v1,               Deployment,            spec.template",
            "apps/v1beta2,          Deployment,            spec.template",
            "apps/v1,               ReplicaSet,            spec.template",
            "apps/v1,               StatefulSet,           spec.template",
            "apps/v1,               DaemonSet,             spec.template",
            "batch/v1,              Job,                   spec.template",
            "batch/v1,              CronJob,               spec.jobTemplate.spec.template",
            "batch/v1beta1,         CronJob,               spec.jobTemplate.spec.template",
            "apps.openshift.io/v1,  DeploymentConfig,      spec.template"})
    void eachWorkloadKindHasItsPodTemplateAtIstiosPath(String apiVersion, String kind, String where) throws Exception {
        JsonNode document = workload(apiVersion, kind, where);
        List<PodTemplates.Found> found = PodTemplates.in(document);
        assertEquals(1, found.size());
        assertEquals(where, found.get(0).where());
        assertEquals(kind, found.get(0).kind().kind);
        assertEquals("web", found.get(0).name());
        assertEquals("shop", found.get(0).namespace());
        assertEquals("web", found.get(0).template().path("spec").path("containers").path(0).path("name").asText());
        JsonNode template = where.equals("the pod") ? document : at(document, where);
        assertSame(template, found.get(0).template(), "the template is the document's own node, to be replaced in place");
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "v1,                       Service",
            "v1,                       ConfigMap",
            "v1,                       Secret",
            "networking.istio.io/v1,   VirtualService",
            "apps/v1,                  ControllerRevision",
            "extensions/v1beta1,       Deployment",
            "v1,                       Deployment",
            "example.com/v1,           Pod"})
    void otherKindsHoldNoPod(String apiVersion, String kind) throws Exception {
        assertEquals(List.of(), PodTemplates.in(workload(apiVersion, kind, "spec.template")));
    }

    @Test
    void theItemsOfAListAreWalkedInOrder() throws Exception {
        JsonNode list = YAML.readTree("""
                apiVersion: v1
                kind: List
                items:
                - {apiVersion: v1, kind: Service, metadata: {name: web}}
                - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: web}]}}}}
                - {apiVersion: batch/v1, kind: CronJob, metadata: {name: nightly}, spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: job}]}}}}}}
                """);
        List<PodTemplates.Found> found = PodTemplates.in(list);
        assertEquals(List.of("items[1].spec.template", "items[2].spec.jobTemplate.spec.template"),
                found.stream().map(PodTemplates.Found::where).toList());
        assertEquals(List.of("web", "nightly"), found.stream().map(PodTemplates.Found::name).toList());
    }

    @Test
    void aWorkloadWithoutATemplateAndAScalarDocumentHoldNoPod() throws Exception {
        assertEquals(List.of(), PodTemplates.in(YAML.readTree("{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}")));
        assertEquals(List.of(), PodTemplates.in(YAML.readTree("just text")));
    }

    /** A document of the kind with a one-container pod at {@code where} ("the pod": the document itself). */
    static JsonNode workload(String apiVersion, String kind, String where) throws Exception {
        String pod = "{metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}";
        String body = pod;
        if (!where.equals("the pod")) {
            String[] fields = where.split("\\.");
            for (int i = fields.length - 1; i >= 0; i--) {
                body = "{" + fields[i] + ": " + body + "}";
            }
            body = body.substring(1, body.length() - 1);
        } else {
            body = pod.substring(1, pod.length() - 1).replace("metadata: {", "metadata: {name: web, namespace: shop, ");
        }
        String metadata = where.equals("the pod") ? "" : "metadata: {name: web, namespace: shop}, ";
        return YAML.readTree("{apiVersion: \"" + apiVersion + "\", kind: " + kind + ", " + metadata + body + "}");
    }

    private static JsonNode at(JsonNode node, String path) {
        for (String field : path.split("\\.")) {
            node = node.path(field);
        }
        return node;
    }
}
