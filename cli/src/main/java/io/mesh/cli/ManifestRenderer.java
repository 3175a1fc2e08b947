package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Renders {@code deploy/kubernetes} as {@code kubectl kustomize} does, for the parts of kustomize that
 * kustomization uses (resources, namespace, labels, images), then applies {@code --set} overrides and
 * orders the objects so one {@code kubectl apply -f -} can create them: namespace and CRDs first.
 *
 * <p>It reads the manifests packaged in the jar (built from the same files), so an installed meshctl
 * needs no checkout. It never invents objects: anything it cannot render is an error.
 */
final class ManifestRenderer {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS));

    /** Kinds that live outside namespaces; the namespace transformer leaves them alone. */
    private static final Set<String> CLUSTER_SCOPED = Set.of("Namespace", "CustomResourceDefinition", "ClusterRole",
            "ClusterRoleBinding", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration");

    /** The order one apply needs: what others refer to comes first. */
    private static final List<String> KIND_ORDER = List.of("Namespace", "CustomResourceDefinition", "ServiceAccount",
            "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "Secret", "Service", "Deployment",
            "PodDisruptionBudget", "MutatingWebhookConfiguration");

    /** Reads a kustomization file by relative path: from the jar, or from a folder given with --manifests. */
    interface Source {
        InputStream open(String relativePath) throws IOException;

        static Source classpath() {
            return path -> {
                InputStream in = ManifestRenderer.class.getClassLoader().getResourceAsStream("manifests/" + path);
                if (in == null) {
                    throw new IOException("manifests/" + path + " is not packaged in meshctl");
                }
                return in;
            };
        }

        static Source folder(Path root) {
            return path -> Files.newInputStream(root.resolve(path));
        }
    }

    private final Source source;

    ManifestRenderer(Source source) {
        this.source = source;
    }

    /** Every object of the kustomization, transformed and overridden, in apply order. */
    List<ObjectNode> render(InstallOverrides overrides) {
        try {
            JsonNode kustomization = YAML.readTree(source.open("kustomization.yaml"));
            List<ObjectNode> objects = new ArrayList<>();
            for (JsonNode resource : kustomization.path("resources")) {
                objects.addAll(readAll(resource.asText()));
            }
            String namespace = kustomization.path("namespace").asText(null);
            for (ObjectNode object : objects) {
                if (namespace != null && !CLUSTER_SCOPED.contains(object.path("kind").asText())) {
                    ((ObjectNode) object.with("metadata")).put("namespace", namespace);
                }
                for (JsonNode label : kustomization.path("labels")) {
                    label.path("pairs").fields().forEachRemaining(e -> labels(object).put(e.getKey(), e.getValue().asText()));
                }
                for (JsonNode image : kustomization.path("images")) {
                    retag(object, image.path("name").asText(), image.path("newName").asText(null), image.path("newTag").asText(null));
                }
                override(object, overrides);
            }
            objects.sort(Comparator.comparingInt(ManifestRenderer::rank));
            return objects;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the manifests: " + e.getMessage(), e);
        }
    }

    /** The objects as one YAML stream, ready for {@code kubectl apply -f -}. */
    static String toYaml(List<ObjectNode> objects) {
        StringBuilder out = new StringBuilder();
        for (ObjectNode object : objects) {
            try {
                out.append("---\n").append(YAML.writeValueAsString(object));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out.toString();
    }

    private List<ObjectNode> readAll(String path) throws IOException {
        List<ObjectNode> objects = new ArrayList<>();
        try (InputStream in = source.open(path); YAMLParser parser = (YAMLParser) YAML.getFactory().createParser(in)) {
            Iterator<JsonNode> documents = YAML.readValues(parser, JsonNode.class);
            while (documents.hasNext()) {
                JsonNode document = documents.next();
                if (document == null || document.isNull() || document.isMissingNode() || document.isEmpty()) {
                    continue;
                }
                if (!(document instanceof ObjectNode object) || !document.has("kind")) {
                    throw new IOException(path + ": a document is not a Kubernetes object");
                }
                objects.add(object);
            }
        }
        return objects;
    }

    private static ObjectNode labels(ObjectNode object) {
        return (ObjectNode) ((ObjectNode) object.with("metadata")).with("labels");
    }

    private static void retag(ObjectNode object, String name, String newName, String newTag) {
        for (JsonNode container : containers(object)) {
            String image = container.path("image").asText("");
            String repository = image.contains(":") ? image.substring(0, image.lastIndexOf(':')) : image;
            if (repository.equals(name)) {
                String tag = newTag != null ? newTag : (image.contains(":") ? image.substring(image.lastIndexOf(':') + 1) : null);
                ((ObjectNode) container).put("image", (newName != null ? newName : repository) + (tag != null ? ":" + tag : ""));
            }
        }
    }

    private static void override(ObjectNode object, InstallOverrides overrides) {
        for (JsonNode container : containers(object)) {
            String image = container.path("image").asText("");
            if (!image.startsWith("mesh/")) {
                continue;
            }
            String repository = image.contains(":") ? image.substring(0, image.lastIndexOf(':')) : image;
            String tag = image.contains(":") ? image.substring(image.lastIndexOf(':') + 1) : VersionProvider.version();
            String component = repository.substring("mesh/".length());
            ((ObjectNode) container).put("image", overrides.hub().orElse("mesh") + "/" + component + ":" + overrides.tag().orElse(tag));
        }
        if ("ConfigMap".equals(object.path("kind").asText()) && "istio".equals(object.path("metadata").path("name").asText())) {
            overrides.trustDomain().ifPresent(domain -> ((ObjectNode) object.with("data")).put("trustDomain", domain));
        }
        overrides.revision().ifPresent(revision -> labels(object).put("istio.io/rev", revision));
    }

    private static List<JsonNode> containers(ObjectNode object) {
        JsonNode pod = object.path("spec").path("template").path("spec");
        List<JsonNode> containers = new ArrayList<>();
        for (String field : List.of("initContainers", "containers")) {
            if (pod.path(field) instanceof ArrayNode list) {
                list.forEach(containers::add);
            }
        }
        return containers;
    }

    private static int rank(ObjectNode object) {
        int index = KIND_ORDER.indexOf(object.path("kind").asText());
        return index < 0 ? KIND_ORDER.size() : index;
    }

    /** Objects reversed, for deletion: webhook first, namespace and CRDs last. */
    static List<ObjectNode> deletionOrder(List<ObjectNode> objects) {
        List<ObjectNode> reversed = new ArrayList<>(objects);
        java.util.Collections.reverse(reversed);
        return reversed;
    }

    static Map<String, Object> asMap(ObjectNode object) {
        return YAML.convertValue(object, Map.class);
    }
}
