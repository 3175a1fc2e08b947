package io.mesh.injector;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.mesh.injector.inject.MeshSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.UUID;

/** Test inputs: pod YAML from src/test/resources, and AdmissionReviews built from it as an API server would. */
public final class Fixtures {

    public static final ObjectMapper JSON = new ObjectMapper();
    public static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    public static final Path RESOURCES = Path.of("src", "test", "resources");

    /** Fixed, so golden patches do not change with the project version. */
    public static final MeshSettings MESH = new MeshSettings("mesh/gateway:0.1.0", "IfNotPresent", 1337, "100m",
            "128Mi", "2000m", "1024Mi", false, "*", "pilot.istio-system.svc:15012", "citadel.istio-system.svc:8060",
            "cluster.local", "istio-ca", "istio-ca-root-cert");

    private Fixtures() {
    }

    public static ObjectNode yaml(Path file) {
        try {
            return (ObjectNode) YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An AdmissionReview v1 for creating this pod, the way kube-apiserver sends it. */
    public static ObjectNode admissionReview(ObjectNode pod) {
        String namespace = pod.path("metadata").path("namespace").asText("default");
        ObjectNode review = JSON.createObjectNode();
        review.put("apiVersion", "admission.k8s.io/v1");
        review.put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request");
        request.put("uid", UUID.randomUUID().toString());
        request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
        request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
        request.putObject("requestKind").put("group", "").put("version", "v1").put("kind", "Pod");
        request.putObject("requestResource").put("group", "").put("version", "v1").put("resource", "pods");
        request.put("name", pod.path("metadata").path("name").asText(""));
        request.put("namespace", namespace);
        request.put("operation", "CREATE");
        request.putObject("userInfo").put("username", "system:serviceaccount:kube-system:replicaset-controller");
        ObjectNode object = pod.deepCopy();
        ((ObjectNode) object.get("metadata")).remove("namespace");
        request.set("object", object);
        request.putNull("oldObject");
        request.put("dryRun", false);
        request.putObject("options").put("apiVersion", "meta.k8s.io/v1").put("kind", "CreateOptions");
        return review;
    }

    /** The decoded JSON patch of an AdmissionReview response, or null when it has none. */
    public static JsonNode patchOf(JsonNode review) {
        JsonNode patch = review.path("response").get("patch");
        if (patch == null) {
            return null;
        }
        try {
            return JSON.readTree(Base64.getDecoder().decode(patch.asText()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
