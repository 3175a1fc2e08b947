package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The pod meshctl kube-inject sends for a template is the pod the workload's controller would create (so the
 * injector names the sidecar's workload as for the real pod), and nothing it adds stays in the template.
 */
class ControllerPodTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
            "v1                   | Pod                   |                       |                       |           |",
            "v1                   | ReplicationController | web-                  | v1                    | ReplicationController | web",
            "apps/v1              | Deployment            | web-5d8f7c9b4-        | apps/v1               | ReplicaSet | web-5d8f7c9b4",
            "apps/v1              | ReplicaSet            | web-                  | apps/v1               | ReplicaSet | web",
            "apps/v1              | StatefulSet           | web-                  | apps/v1               | StatefulSet | web",
            "apps/v1              | DaemonSet             | web-                  | apps/v1               | DaemonSet | web",
            "batch/v1             | Job                   | web-                  | batch/v1              | Job       | web",
            "batch/v1             | CronJob               | web-29000000-         | batch/v1              | Job       | web-29000000",
            "apps.openshift.io/v1 | DeploymentConfig      | web-1-                | v1                    | ReplicationController | web-1"})
    void thePodIsTheOneItsControllerWouldCreate(String apiVersion, String kind, String generateName, String ownerApiVersion,
            String ownerKind, String owner) throws Exception {
        String where = PodTemplates.Kind.of(apiVersion, kind).path;
        PodTemplates.Found found = PodTemplates.in(PodTemplatesTest.workload(apiVersion, kind, where.isEmpty() ? "the pod" : where)).get(0);
        ObjectNode pod = ControllerPod.of(found).pod();
        assertEquals("v1", pod.path("apiVersion").asText());
        assertEquals("Pod", pod.path("kind").asText());
        JsonNode metadata = pod.path("metadata");
        assertEquals(generateName == null ? "" : generateName, metadata.path("generateName").asText(""));
        JsonNode reference = metadata.path("ownerReferences").path(0);
        assertEquals(owner == null ? "" : owner, reference.path("name").asText(""));
        assertEquals(ownerKind == null ? "" : ownerKind, reference.path("kind").asText(""));
        assertEquals(ownerApiVersion == null ? "" : ownerApiVersion, reference.path("apiVersion").asText(""));
        assertEquals(owner != null, reference.path("controller").asBoolean(false));
        assertEquals("true", metadata.path("labels").path("sidecar.istio.io/inject").asText(), "kube-inject asks for injection");
        assertEquals(kind.equals("Deployment") ? "5d8f7c9b4" : "", metadata.path("labels").path("pod-template-hash").asText(""));
        assertEquals(kind.equals("DeploymentConfig") ? "web" : "", metadata.path("labels").path("deploymentconfig").asText(""));
        assertEquals(kind.equals("StatefulSet") ? "web-0" : kind.equals("Pod") ? "web" : "", metadata.path("name").asText(""));
        assertEquals(found.template().path("spec"), pod.path("spec"));
    }

    @Test
    void whatThePodWasGivenIsTakenOffAgain() throws Exception {
        JsonNode deployment = YAML.readTree("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web, namespace: shop}
                spec:
                  template:
                    metadata:
                      labels: {app: web}
                      annotations: {team: a}
                    spec:
                      containers: [{name: web, image: nginx}]
                """);
        PodTemplates.Found found = PodTemplates.in(deployment).get(0);
        ControllerPod pod = ControllerPod.of(found);
        assertEquals(found.template(), pod.template(pod.pod()), "not injected: the template as it was");

        ObjectNode injected = pod.pod().deepCopy();
        ((ObjectNode) injected.path("metadata").path("labels")).put("security.istio.io/tlsMode", "istio");
        ((ObjectNode) injected.path("metadata").path("annotations")).put("sidecar.istio.io/status", "{}");
        ((com.fasterxml.jackson.databind.node.ArrayNode) injected.path("spec").path("containers")).addObject().put("name", "istio-proxy");
        JsonNode template = pod.template(injected);
        assertEquals(YAML.readTree("""
                metadata:
                  labels: {app: web, security.istio.io/tlsMode: istio}
                  annotations: {team: a, sidecar.istio.io/status: "{}"}
                spec:
                  containers: [{name: web, image: nginx}, {name: istio-proxy}]
                """), template);
    }

    @Test
    void aTemplateWithoutMetadataGetsBackOnlyWhatTheInjectorAdded() throws Exception {
        JsonNode job = YAML.readTree("{apiVersion: batch/v1, kind: Job, metadata: {name: once}, spec: {template: {spec: {containers: [{name: c}]}}}}");
        ControllerPod pod = ControllerPod.of(PodTemplates.in(job).get(0));
        assertEquals(YAML.readTree("{spec: {containers: [{name: c}]}}"), pod.template(pod.pod()));
        ObjectNode injected = pod.pod().deepCopy();
        ((ObjectNode) injected.path("metadata").path("labels")).put("security.istio.io/tlsMode", "istio");
        assertEquals(YAML.readTree("{metadata: {labels: {security.istio.io/tlsMode: istio}}, spec: {containers: [{name: c}]}}"),
                pod.template(injected));
    }

    @Test
    void aTemplateThatSaysWhetherToInjectIsSentAsItIs() throws Exception {
        for (String setting : new String[] {"labels", "annotations"}) {
            JsonNode deployment = YAML.readTree("{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: "
                    + "{metadata: {" + setting + ": {sidecar.istio.io/inject: \"false\"}}, spec: {containers: [{name: web}]}}}}");
            JsonNode metadata = ControllerPod.of(PodTemplates.in(deployment).get(0)).pod().path("metadata");
            assertEquals("false", metadata.path(setting).path("sidecar.istio.io/inject").asText());
            assertFalse(setting.equals("annotations") && metadata.path("labels").has("sidecar.istio.io/inject"), metadata.toString());
        }
    }

    @Test
    void anOwnerOrNameTheTemplateAlreadyHasIsKept() throws Exception {
        JsonNode set = YAML.readTree("""
                {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db},
                 spec: {template: {metadata: {name: db-custom, labels: {sidecar.istio.io/inject: "true"}}, spec: {containers: [{name: db}]}}}}
                """);
        ControllerPod pod = ControllerPod.of(PodTemplates.in(set).get(0));
        assertEquals("db-custom", pod.name());
        assertEquals(PodTemplates.in(set).get(0).template(), pod.template(pod.pod()));
    }
}
