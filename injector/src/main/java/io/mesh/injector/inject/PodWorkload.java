package io.mesh.injector.inject;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The workload a pod belongs to, as Istio's injector names it for the sidecar's {@code ISTIO_META_WORKLOAD_NAME} and
 * {@code ISTIO_META_OWNER} (istio {@code pkg/kube/inject/inject.go} {@code GetDeployMetaFromPod}, and the injection
 * template's {@code kubernetes://apis/<apiVersion>/namespaces/<namespace>/<kind, lower case>s/<name>}).
 *
 * <p>A pod is its own workload ({@code v1} {@code Pod}) unless its name is generated ({@code generateName}, as
 * controllers create pods): then it is its controller's (the owner reference with {@code controller: true}), by that
 * reference's kind and API version, with Istio's heuristics: a ReplicaSet whose name ends with the pod's
 * {@code pod-template-hash} is its Deployment's, one with {@code rollouts-pod-template-hash} an Argo Rollout's, a
 * ReplicationController with a {@code deploymentconfig} label an OpenShift DeploymentConfig's, and a Job named
 * {@code <name>-<8 to 10 digits>} its CronJob's ({@code batch/v1}). {@code name} may be empty (a generated name without
 * a controller): then neither variable is set, as Istio's template leaves them out.
 */
record PodWorkload(String name, String namespace, String kind, String apiVersion) {

    /** A Job a CronJob created: its name and the schedule's timestamp. */
    private static final Pattern CRON_JOB = Pattern.compile("(.+)-\\d{8,10}");

    /** {@code namespace}: the request's, for a pod that has none yet (a controller's); "default" when neither says. */
    static PodWorkload of(PodView pod, String namespace) {
        String ns = !pod.namespace().isEmpty() ? pod.namespace() : namespace == null || namespace.isEmpty()
                ? "default" : namespace;
        JsonNode controller = pod.generateName().isEmpty() ? null : pod.controller();
        if (controller == null) {
            return new PodWorkload(pod.name(), ns, "Pod", "v1");
        }
        String name = controller.path("name").asText("");
        String kind = controller.path("kind").asText("");
        String apiVersion = controller.path("apiVersion").asText("");
        String hash = pod.labels().getOrDefault("pod-template-hash", "");
        String rolloutHash = pod.labels().getOrDefault("rollouts-pod-template-hash", "");
        String deploymentConfig = pod.labels().getOrDefault("deploymentconfig", "");
        Matcher cron = CRON_JOB.matcher(name);
        if (kind.equals("ReplicaSet") && !hash.isEmpty() && name.endsWith(hash)) {
            name = trim(name, "-" + hash);
            kind = "Deployment";
        } else if (kind.equals("ReplicaSet") && !rolloutHash.isEmpty() && name.endsWith(rolloutHash)) {
            name = trim(name, "-" + rolloutHash);
            kind = "Rollout";
            apiVersion = "v1alpha1";   // as Istio's heuristic has it
        } else if (kind.equals("ReplicationController") && !deploymentConfig.isEmpty()) {
            name = deploymentConfig;
            kind = "DeploymentConfig";
        } else if (kind.equals("Job") && cron.matches()) {
            name = cron.group(1);
            kind = "CronJob";
            apiVersion = "batch/v1";   // a pod does not say which; Istio takes the current one
        }
        return new PodWorkload(name.isEmpty() ? pod.name() : name, ns, kind, apiVersion);
    }

    /** Istio's {@code OWNER} node metadata, or "" when the workload has no name or API version. */
    String owner() {
        if (name.isEmpty() || apiVersion.isEmpty()) {
            return "";
        }
        return "kubernetes://apis/" + apiVersion + "/namespaces/" + namespace + "/" + kind.toLowerCase(Locale.ROOT) + "s/"
                + name;
    }

    private static String trim(String s, String suffix) {
        return s.endsWith(suffix) ? s.substring(0, s.length() - suffix.length()) : s;
    }
}
