package io.mesh.injector.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.zjsonpatch.JsonPatch;
import io.mesh.injector.Fixtures;
import io.mesh.injector.template.InjectionTemplate;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sidecar's {@code ISTIO_META_WORKLOAD_NAME} and {@code ISTIO_META_OWNER}, as Istio's injector sets them (istio
 * {@code pkg/kube/inject/inject.go} {@code GetDeployMetaFromPod} and its injection template): the pod's controller,
 * with a ReplicaSet's pod named by its Deployment and a CronJob's Job by its CronJob; a bare pod is its own workload.
 */
class WorkloadMetadataTest {

    private static final SidecarInjector INJECTOR = new SidecarInjector(InjectionTemplate.builtIn(), Fixtures.MESH);

    /** A pod of namespace shop: its name or generated name, labels and controller as the API server sends them. */
    static String pod(String metadata) {
        return """
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": %s,
                 "spec": {"containers": [{"name": "app", "image": "example/app:1"}]}}
                """.formatted(metadata);
    }

    static String owned(String generateName, String labels, String apiVersion, String kind, String name) {
        return pod("""
                {"generateName": "%s", "namespace": "shop", "labels": %s,
                 "ownerReferences": [{"apiVersion": "%s", "kind": "%s", "name": "%s", "uid": "u1", "controller": true}]}
                """.formatted(generateName, labels, apiVersion, kind, name));
    }

    static Stream<Arguments> workloads() {
        return Stream.of(
                Arguments.of("a Deployment's pod", owned("reviews-v2-5d8f7c9b4-", "{\"app\": \"reviews\","
                        + " \"pod-template-hash\": \"5d8f7c9b4\"}", "apps/v1", "ReplicaSet", "reviews-v2-5d8f7c9b4"),
                        "reviews-v2", "kubernetes://apis/apps/v1/namespaces/shop/deployments/reviews-v2"),
                Arguments.of("a bare ReplicaSet's pod", owned("cache-", "{}", "apps/v1", "ReplicaSet", "cache"),
                        "cache", "kubernetes://apis/apps/v1/namespaces/shop/replicasets/cache"),
                Arguments.of("a bare pod", pod("{\"name\": \"debug\", \"namespace\": \"shop\"}"),
                        "debug", "kubernetes://apis/v1/namespaces/shop/pods/debug"),
                Arguments.of("a Job's pod", owned("migrate-", "{}", "batch/v1", "Job", "migrate"),
                        "migrate", "kubernetes://apis/batch/v1/namespaces/shop/jobs/migrate"),
                Arguments.of("a CronJob's pod", owned("backup-28391230-", "{}", "batch/v1", "Job", "backup-28391230"),
                        "backup", "kubernetes://apis/batch/v1/namespaces/shop/cronjobs/backup"),
                Arguments.of("a StatefulSet's pod (generated name)", owned("db-", "{}", "apps/v1", "StatefulSet", "db"),
                        "db", "kubernetes://apis/apps/v1/namespaces/shop/statefulsets/db"),
                Arguments.of("a DaemonSet's pod", owned("agent-", "{}", "apps/v1", "DaemonSet", "agent"),
                        "agent", "kubernetes://apis/apps/v1/namespaces/shop/daemonsets/agent"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("workloads")
    void theSidecarIsToldItsWorkloadAndOwnerAsIstiosInjectorTellsIt(String what, String pod, String workload,
            String owner) throws IOException {
        Map<String, String> env = sidecarEnv(pod);
        assertEquals(workload, env.get("ISTIO_META_WORKLOAD_NAME"));
        assertEquals(owner, env.get("ISTIO_META_OWNER"));
    }

    @Test
    void aPodOfARequestWithoutNamespaceTakesTheRequestsNamespace() throws IOException {
        String pod = owned("web-7d4b9c8f5-", "{\"pod-template-hash\": \"7d4b9c8f5\"}", "apps/v1", "ReplicaSet",
                "web-7d4b9c8f5").replace("\"namespace\": \"shop\", ", "");
        assertEquals("kubernetes://apis/apps/v1/namespaces/shop/deployments/web", sidecarEnv(pod).get("ISTIO_META_OWNER"));
    }

    @Test
    void aGeneratedNameWithoutAControllerNamesNoWorkloadAsInIstio() throws IOException {
        Map<String, String> env = sidecarEnv(pod("{\"generateName\": \"scratch-\", \"namespace\": \"shop\"}"));
        assertEquals(null, env.get("ISTIO_META_WORKLOAD_NAME"));
        assertEquals(null, env.get("ISTIO_META_OWNER"));
    }

    @Test
    void anArgoRolloutsPodAndAnOpenShiftDeploymentConfigsPodAreNamedByTheirWorkload() throws IOException {
        String rollout = owned("canary-6c9f8d7b5-", "{\"rollouts-pod-template-hash\": \"6c9f8d7b5\"}", "apps/v1",
                "ReplicaSet", "canary-6c9f8d7b5");
        assertEquals("kubernetes://apis/v1alpha1/namespaces/shop/rollouts/canary", sidecarEnv(rollout).get("ISTIO_META_OWNER"),
                "Istio's heuristic, its API version included");
        String dc = owned("legacy-3-", "{\"deploymentconfig\": \"legacy\"}", "v1", "ReplicationController", "legacy-3");
        assertEquals("kubernetes://apis/v1/namespaces/shop/deploymentconfigs/legacy", sidecarEnv(dc).get("ISTIO_META_OWNER"));
    }

    /** The injected istio-proxy container's environment (plain values only). */
    static Map<String, String> sidecarEnv(String podJson) throws IOException {
        ObjectNode pod = (ObjectNode) Fixtures.JSON.readTree(podJson);
        InjectionOutcome outcome = INJECTOR.inject(pod, "shop", Map.of(InjectionPolicy.NAMESPACE_LABEL, "enabled"));
        assertEquals(InjectionOutcome.Kind.INJECTED, outcome.kind(), outcome::reason);
        JsonNode injected = JsonPatch.apply(outcome.patch(), pod);
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode c : injected.path("spec").path("containers")) {
            if (c.path("name").asText().equals("istio-proxy")) {
                c.path("env").forEach(e -> {
                    if (e.has("value")) {
                        env.put(e.path("name").asText(), e.path("value").asText());
                    }
                });
            }
        }
        return env;
    }
}
