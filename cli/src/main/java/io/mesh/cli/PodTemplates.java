package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a Kubernetes document holds pods, for the kinds istioctl kube-inject handles: a Pod itself; the
 * {@code spec.template} of a ReplicationController, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and
 * OpenShift DeploymentConfig; the {@code spec.jobTemplate.spec.template} of a CronJob; and the items of a
 * {@code v1} List (what {@code kubectl get -o yaml} prints for several objects). A kind is recognised by its API
 * group and kind, in any version. Anything else holds no pod and is passed through.
 *
 * <p>It never changes the document; each template is the document's own node, for the caller to replace.
 */
final class PodTemplates {

    /** A kind that holds a pod template, and where. */
    enum Kind {
        POD("", "Pod", ""),
        REPLICATION_CONTROLLER("", "ReplicationController", "spec.template"),
        DEPLOYMENT("apps", "Deployment", "spec.template"),
        REPLICA_SET("apps", "ReplicaSet", "spec.template"),
        STATEFUL_SET("apps", "StatefulSet", "spec.template"),
        DAEMON_SET("apps", "DaemonSet", "spec.template"),
        JOB("batch", "Job", "spec.template"),
        CRON_JOB("batch", "CronJob", "spec.jobTemplate.spec.template"),
        DEPLOYMENT_CONFIG("apps.openshift.io", "DeploymentConfig", "spec.template");

        final String group;
        final String kind;
        /** The template's path in the document; "" for a Pod, which is its own template. */
        final String path;

        Kind(String group, String kind, String path) {
            this.group = group;
            this.kind = kind;
            this.path = path;
        }

        static Kind of(String apiVersion, String kind) {
            int slash = apiVersion.lastIndexOf('/');
            String group = slash < 0 ? "" : apiVersion.substring(0, slash);
            for (Kind k : values()) {
                if (k.kind.equals(kind) && k.group.equals(group)) {
                    return k;
                }
            }
            return null;
        }
    }

    /**
     * One pod template found in a document.
     *
     * @param kind the workload's kind
     * @param workload the workload object (the Pod, the Deployment, ...): its name and namespace name the pod
     * @param template the template node: {@code metadata} and {@code spec} of the pods it makes; for a Pod, the Pod
     * @param where its path in the document, for messages ({@code spec.template}, {@code items[2].spec.template})
     */
    record Found(Kind kind, ObjectNode workload, ObjectNode template, String where) {

        String name() {
            return workload.path("metadata").path("name").asText("");
        }

        String namespace() {
            return workload.path("metadata").path("namespace").asText("");
        }
    }

    private PodTemplates() {
    }

    /** The pod templates of a document, in document order; empty when it holds none. */
    static List<Found> in(JsonNode document) {
        List<Found> found = new ArrayList<>();
        collect(document, "", found);
        return found;
    }

    private static void collect(JsonNode document, String prefix, List<Found> found) {
        if (!(document instanceof ObjectNode object)) {
            return;
        }
        String apiVersion = object.path("apiVersion").asText("");
        String kind = object.path("kind").asText("");
        if (apiVersion.equals("v1") && kind.equals("List")) {
            JsonNode items = object.path("items");
            for (int i = 0; i < items.size(); i++) {
                collect(items.get(i), prefix + "items[" + i + "].", found);
            }
            return;
        }
        Kind known = Kind.of(apiVersion, kind);
        if (known == null) {
            return;
        }
        JsonNode template = known.path.isEmpty() ? object : at(object, known.path);
        if (template instanceof ObjectNode t) {
            String where = known.path.isEmpty() ? (prefix.isEmpty() ? "the pod" : prefix.substring(0, prefix.length() - 1))
                    : prefix + known.path;
            found.add(new Found(known, object, t, where));
        }
    }

    private static JsonNode at(JsonNode node, String path) {
        for (String field : path.split("\\.")) {
            node = node.path(field);
        }
        return node;
    }
}
