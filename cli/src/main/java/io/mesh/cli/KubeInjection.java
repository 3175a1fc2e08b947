package io.mesh.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.util.StringQuotingChecker;
import io.fabric8.zjsonpatch.JsonPatch;
import io.fabric8.zjsonpatch.JsonPatchException;
import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.nodes.NodeId;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * meshctl kube-inject's work on one multi-document YAML text: every pod template is sent to the injector as the
 * pod its controller would create ({@link ControllerPod}), the injector's JSON patch is applied to that pod, and
 * the result is written back into the workload. A document with no pod template, or whose pods the injector
 * left alone, is kept exactly as written (comments too); an injected document is written anew from its parsed
 * form, keeping only its leading comment lines, as istioctl re-serializes what it injects.
 *
 * <p>It stops at the first document the injector refuses or cannot be asked about: half-injected output piped to
 * {@code kubectl apply} would be worse than none.
 */
final class KubeInjection {

    /** The injector's side: its decision about one pod in a namespace. */
    @FunctionalInterface
    interface Injector {
        InjectorClient.Decision review(ObjectNode pod, String namespace) throws InjectorClient.Unreachable, InterruptedException;
    }

    /** The injected YAML and a note for each workload the injector left alone. */
    record Result(String yaml, List<String> notes) {
    }

    /** A document could not be injected; the message names it. */
    static final class Failed extends Exception {
        Failed(String message) {
            super(message);
        }
    }

    private static final ObjectMapper YAML_IN = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper YAML_OUT = new ObjectMapper(YAMLFactory.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .disable(YAMLGenerator.Feature.SPLIT_LINES)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .enable(YAMLGenerator.Feature.LITERAL_BLOCK_STYLE)
            .stringQuotingChecker(new PlainScalarChecker()).build());

    /**
     * Quotes a string whenever the YAML parser would not read it back, unquoted, as that string: Jackson's own check
     * misses some numbers ("1e3"), and a Kubernetes string field must stay a string.
     */
    private static final class PlainScalarChecker extends StringQuotingChecker.Default {
        private static final Resolver RESOLVER = new Resolver();

        @Override
        public boolean needToQuoteValue(String value) {
            return super.needToQuoteValue(value) || !Tag.STR.equals(RESOLVER.resolve(NodeId.scalar, value, true));
        }
    }

    private final Injector injector;
    private final String defaultNamespace;

    /** @param defaultNamespace for documents that name none ({@code --namespace}, else "default") */
    KubeInjection(Injector injector, String defaultNamespace) {
        this.injector = injector;
        this.defaultNamespace = defaultNamespace;
    }

    Result inject(String input) throws Failed, InterruptedException {
        List<YamlDocuments.Document> documents = YamlDocuments.split(input);
        List<YamlDocuments.Document> out = new ArrayList<>(documents.size());
        List<String> notes = new ArrayList<>();
        int index = 0;
        for (YamlDocuments.Document document : documents) {
            if (document.blank()) {
                out.add(document);
                continue;
            }
            index++;
            String at = "document " + index + " (line " + document.line() + ")";
            JsonNode parsed;
            try {
                parsed = YAML_IN.readTree(document.text());
            } catch (JsonProcessingException e) {
                throw new Failed(at + " is not YAML: " + e.getOriginalMessage());
            }
            boolean changed = false;
            for (PodTemplates.Found found : PodTemplates.in(parsed)) {
                changed |= inject(found, at, notes);
            }
            out.add(changed ? document.withText(leadingComments(document.text()) + write(parsed)) : document);
        }
        return new Result(YamlDocuments.join(out), notes);
    }

    /** Injects one template in place; false when the injector left it alone. */
    private boolean inject(PodTemplates.Found found, String at, List<String> notes) throws Failed, InterruptedException {
        ControllerPod pod = ControllerPod.of(found);
        String namespace = firstNonEmpty(found.template().path("metadata").path("namespace").asText(""),
                found.namespace(), defaultNamespace);
        String what = at + " (" + found.kind().kind + " " + namespace + "/" + (found.name().isEmpty() ? "<no name>" : found.name())
                + (found.kind() == PodTemplates.Kind.POD ? "" : ", " + found.where()) + ")";
        InjectorClient.Decision decision;
        try {
            decision = injector.review(pod.pod(), namespace);
        } catch (InjectorClient.Unreachable e) {
            throw new Failed(what + ": " + e.getMessage());
        }
        if (!decision.allowed()) {
            throw new Failed(what + ": the injector refused it: " + decision.message());
        }
        if (decision.patch() == null) {
            notes.add(what + ": not injected, the injector left it unchanged" + hint(found.template()));
            return false;
        }
        JsonNode injected;
        try {
            injected = JsonPatch.apply(decision.patch(), pod.pod());
        } catch (JsonPatchException e) {
            throw new Failed(what + ": the injector's patch does not apply: " + e.getMessage());
        }
        ObjectNode template = pod.template(injected);
        ObjectNode target = found.template();
        for (String field : List.of("metadata", "spec")) {
            if (template.has(field)) {
                target.set(field, template.get(field));
            } else {
                target.remove(field);
            }
        }
        return true;
    }

    /** What the template itself shows about why it was left alone; the injector's decision is the one that counts. */
    private static String hint(ObjectNode template) {
        JsonNode metadata = template.path("metadata");
        String setting = metadata.path("labels").path(ControllerPod.INJECT).asText(
                metadata.path("annotations").path(ControllerPod.INJECT).asText(""));
        if (!setting.isEmpty()) {
            return " (it has " + ControllerPod.INJECT + "=" + setting + ")";
        }
        if (metadata.path("annotations").has("sidecar.istio.io/status")) {
            return " (it is already injected)";
        }
        for (JsonNode container : template.path("spec").path("containers")) {
            if ("istio-proxy".equals(container.path("name").asText())) {
                return " (it is already injected)";
            }
        }
        if (template.path("spec").path("hostNetwork").asBoolean(false)) {
            return " (it uses the host network)";
        }
        return " (e.g. its namespace is a system one or has istio-injection=disabled)";
    }

    static String write(JsonNode document) throws Failed {
        try {
            return YAML_OUT.writeValueAsString(document);
        } catch (JsonProcessingException e) {
            throw new Failed("cannot write YAML: " + e.getOriginalMessage());
        }
    }

    private static String leadingComments(String text) {
        StringBuilder comments = new StringBuilder();
        for (String line : text.split("(?<=\n)")) {
            String s = line.strip();
            if (!s.isEmpty() && !s.startsWith("#")) {
                break;
            }
            comments.append(line);
        }
        return comments.toString();
    }

    private static String firstNonEmpty(String... values) {
        for (String value : values) {
            if (value != null && !value.isEmpty()) {
                return value;
            }
        }
        return "default";
    }
}
