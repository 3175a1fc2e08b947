package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The pod a workload's controller would create from its template, as the injector's webhook would see it, and
 * the way back from that pod (after injection) to the template.
 *
 * <p>A template has no name, generated name or owner; the injector names the sidecar's workload
 * ({@code ISTIO_META_WORKLOAD_NAME}, {@code ISTIO_META_OWNER}) from those, as Istio's does. So the pod gets what
 * Kubernetes would give it: a Deployment's pod a {@code generateName} of {@code <name>-<hash>-}, a
 * {@code pod-template-hash} label and its ReplicaSet as controlling owner; a StatefulSet's pod the name
 * {@code <name>-0}; a CronJob's pod its Job ({@code <name>-<minutes>}) as owner; and so on. istioctl kube-inject
 * gives its template the workload's metadata for the same purpose. The hash and the schedule are placeholders:
 * only the workload's kind and name reach the injected template.
 *
 * <p>kube-inject asks for injection, as istioctl's does (Istio's injector then ignores the namespace's label):
 * a template that says nothing about {@code sidecar.istio.io/inject} is sent with the label
 * {@code sidecar.istio.io/inject: "true"}. A template that says "false" is sent as it is, and the injector
 * decides.
 *
 * <p>Everything added is taken off again by {@link #template(JsonNode)}, so the result differs from the template
 * only by what the injector did.
 */
final class ControllerPod {

    static final String INJECT = "sidecar.istio.io/inject";
    /** Stands for the hash Kubernetes computes over a Deployment's template. */
    static final String TEMPLATE_HASH = "5d8f7c9b4";
    /** Stands for a CronJob's scheduled time in minutes, the suffix of the Jobs it creates. */
    static final String SCHEDULE = "29000000";

    private final ObjectNode pod;
    private final List<String[]> addedLabels = new ArrayList<>();
    private final List<String> addedMetadata = new ArrayList<>();
    private boolean addedLabelMap;
    private boolean addedMetadataMap;

    private ControllerPod(ObjectNode pod) {
        this.pod = pod;
    }

    /** The pod made from {@code found}'s template (a copy: the document is not changed). */
    static ControllerPod of(PodTemplates.Found found) {
        ObjectNode pod = JsonNodeFactory.instance.objectNode();
        pod.put("apiVersion", "v1");
        pod.put("kind", "Pod");
        JsonNode metadata = found.template().path("metadata");
        ControllerPod made = new ControllerPod(pod);
        if (metadata.isObject()) {
            pod.set("metadata", metadata.deepCopy());
        } else {
            pod.putObject("metadata");
            made.addedMetadataMap = true;
        }
        JsonNode spec = found.template().path("spec");
        if (!spec.isMissingNode()) {
            pod.set("spec", spec.deepCopy());
        }
        made.asCreatedBy(found);
        made.askForInjection();
        return made;
    }

    ObjectNode pod() {
        return pod;
    }

    /** The pod's name, or "" (a controller's pods have generated names). */
    String name() {
        return pod.path("metadata").path("name").asText("");
    }

    /**
     * The template for an injected pod: its metadata and spec without what {@link #of} added. {@code injected} is
     * this pod with the injector's patch applied.
     */
    ObjectNode template(JsonNode injected) {
        ObjectNode metadata = (ObjectNode) injected.path("metadata").deepCopy();
        if (metadata.path("labels") instanceof ObjectNode labels) {
            for (String[] label : addedLabels) {
                if (label[1].equals(labels.path(label[0]).asText(null))) {
                    labels.remove(label[0]);
                }
            }
            if (addedLabelMap && labels.isEmpty()) {
                metadata.remove("labels");
            }
        }
        metadata.remove(addedMetadata);
        ObjectNode template = JsonNodeFactory.instance.objectNode();
        if (!(addedMetadataMap && metadata.isEmpty())) {
            template.set("metadata", metadata);
        }
        if (injected.has("spec")) {
            template.set("spec", injected.get("spec").deepCopy());
        }
        return template;
    }

    private void asCreatedBy(PodTemplates.Found found) {
        String name = found.name();
        if (name.isEmpty()) {
            return;
        }
        switch (found.kind()) {
            case POD -> {
            }
            case DEPLOYMENT -> {
                label("pod-template-hash", TEMPLATE_HASH);
                ownedBy("apps/v1", "ReplicaSet", name + "-" + TEMPLATE_HASH);
            }
            case REPLICA_SET, DAEMON_SET -> ownedBy("apps/v1", found.kind().kind, name);
            case STATEFUL_SET -> {
                ownedBy("apps/v1", "StatefulSet", name);
                metadata("name", name + "-0");
            }
            case JOB -> ownedBy("batch/v1", "Job", name);
            case CRON_JOB -> ownedBy("batch/v1", "Job", name + "-" + SCHEDULE);
            case REPLICATION_CONTROLLER -> ownedBy("v1", "ReplicationController", name);
            case DEPLOYMENT_CONFIG -> {
                // OpenShift runs each version of a DeploymentConfig as a ReplicationController <name>-<version>.
                label("deploymentconfig", name);
                ownedBy("v1", "ReplicationController", name + "-1");
            }
        }
    }

    private void askForInjection() {
        JsonNode metadata = pod.path("metadata");
        if (!metadata.path("labels").has(INJECT) && !metadata.path("annotations").has(INJECT)) {
            label(INJECT, "true");
        }
    }

    /** The controller's pods: a generated name after the owner's and the owner as controlling reference. */
    private void ownedBy(String apiVersion, String kind, String owner) {
        metadata("generateName", owner + "-");
        if (!pod.path("metadata").has("ownerReferences")) {
            ObjectNode reference = ((ObjectNode) pod.get("metadata")).putArray("ownerReferences").addObject();
            reference.put("apiVersion", apiVersion);
            reference.put("kind", kind);
            reference.put("name", owner);
            reference.put("controller", true);
            reference.put("blockOwnerDeletion", true);
            addedMetadata.add("ownerReferences");
        }
    }

    private void metadata(String field, String value) {
        ObjectNode metadata = (ObjectNode) pod.get("metadata");
        if (!metadata.hasNonNull(field) || metadata.get(field).asText().isEmpty()) {
            metadata.put(field, value);
            addedMetadata.add(field);
        }
    }

    private void label(String key, String value) {
        ObjectNode metadata = (ObjectNode) pod.get("metadata");
        if (!(metadata.get("labels") instanceof ObjectNode)) {
            metadata.putObject("labels");
            addedLabelMap = true;
        }
        ObjectNode labels = (ObjectNode) metadata.get("labels");
        if (!labels.has(key)) {
            labels.put(key, value);
            addedLabels.add(new String[] {key, value});
        }
    }
}
