package io.mesh.injector.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.zjsonpatch.JsonPatch;
import io.mesh.injector.template.InjectionTemplate;
import io.mesh.injector.template.TemplateRefused;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * Holds the {@link SidecarInjector} in use and swaps it, atomically, when a new template arrives (from a
 * file or a ConfigMap). A new template is first tried on sample pods (with and without
 * holdApplicationUntilProxyStarts): it must render, its patch must apply, and the result must be a valid Pod
 * with an {@code istio-proxy} container. A template that fails is refused with the reason, and the last
 * good one stays in use. Requests read the current injector once and never see a half-loaded one.
 */
public final class CurrentInjector {

    private static final Logger LOG = Logger.getLogger(CurrentInjector.class);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final List<ObjectNode> SAMPLES = List.of(sample(false), sample(true));

    /** What the last offer did; listeners see every one. */
    public record Reload(boolean applied, String origin, String error) {
    }

    private final MeshSettings mesh;
    private final AtomicReference<SidecarInjector> current = new AtomicReference<>();
    private final AtomicReference<String> lastError = new AtomicReference<>();
    private volatile java.util.function.Consumer<Reload> listener = reload -> { };

    public CurrentInjector(MeshSettings mesh) {
        this.mesh = mesh;
    }

    public void onReload(java.util.function.Consumer<Reload> listener) {
        this.listener = listener;
    }

    public Optional<SidecarInjector> get() {
        return Optional.ofNullable(current.get());
    }

    /** Why the last template was refused, if the last offer was refused. */
    public Optional<String> lastError() {
        return Optional.ofNullable(lastError.get());
    }

    /** Validates and, if good, puts the template in use. @return whether it is now in use */
    public boolean offer(String source, String origin) {
        return offer(source, origin, true);
    }

    /**
     * Puts the built-in template in use. It is tried on the sample pods like any other, but the result is
     * not parsed with the Kubernetes model: that the built-in template makes valid Pods is checked by this
     * module's tests (GoldenInjectionTest) at build time, and loading the model costs a second at start.
     */
    public boolean useBuiltIn() {
        InjectionTemplate builtIn = InjectionTemplate.builtIn();
        return offer(builtIn.source(), builtIn.origin(), false);
    }

    private synchronized boolean offer(String source, String origin, boolean parseWithModel) {
        SidecarInjector candidate;
        try {
            candidate = new SidecarInjector(InjectionTemplate.parse(source, origin), mesh);
            check(candidate, origin, parseWithModel);
        } catch (TemplateRefused e) {
            return refuse(origin, e.getMessage());
        }
        SidecarInjector previous = current.get();
        if (previous != null && previous.template().source().equals(source)) {
            lastError.set(null);
            return true;
        }
        current.set(candidate);
        lastError.set(null);
        LOG.infof("injection template in use: %s", origin);
        listener.accept(new Reload(true, origin, null));
        return true;
    }

    /** Refuses a template for a reason found before parsing (e.g. a ConfigMap without the key). */
    public synchronized boolean refuse(String origin, String error) {
        lastError.set(error);
        LOG.errorf("injection template refused, %s: %s", current.get() == null ? "no template is in use"
                : "keeping " + current.get().template().origin(), error);
        listener.accept(new Reload(false, origin, error));
        return false;
    }

    private static void check(SidecarInjector candidate, String origin, boolean parseWithModel) throws TemplateRefused {
        for (ObjectNode sample : SAMPLES) {
            InjectionOutcome outcome = candidate.inject(sample, "default", Map.of(InjectionPolicy.NAMESPACE_LABEL, "enabled"));
            if (outcome.kind() != InjectionOutcome.Kind.INJECTED) {
                throw new TemplateRefused(outcome.reason().startsWith("the injection template from ") ? outcome.reason()
                        : "the injection template from " + origin + " cannot inject a sample pod: " + outcome.reason());
            }
            JsonNode injected;
            List<String> containers;
            try {
                injected = JsonPatch.apply(outcome.patch(), sample);
                containers = parseWithModel
                        ? Serialization.unmarshal(injected.toString(), Pod.class).getSpec().getContainers().stream()
                                .map(Container::getName).toList()
                        : new PodView((ObjectNode) injected).names("containers");
            } catch (RuntimeException e) {
                throw new TemplateRefused("the injection template from " + origin
                        + " does not produce a valid Pod: " + firstLine(e));
            }
            if (!containers.contains(InjectionPolicy.PROXY_CONTAINER)) {
                throw new TemplateRefused("the injection template from " + origin + " has no container named "
                        + InjectionPolicy.PROXY_CONTAINER);
            }
        }
    }

    private static String firstLine(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return String.valueOf(root.getMessage()).lines().findFirst().orElse(root.toString());
    }

    private static ObjectNode sample(boolean hold) {
        String yaml = """
                apiVersion: v1
                kind: Pod
                metadata:
                  generateName: sample-5f7d8c9b4-
                  labels: {app: sample, pod-template-hash: 5f7d8c9b4}
                  annotations: {}
                spec:
                  serviceAccountName: sample
                  containers:
                  - name: app
                    image: example/app:1
                    ports: [{name: http, containerPort: 8080}]
                    readinessProbe: {httpGet: {path: /ready, port: http}}
                """;
        try {
            ObjectNode pod = (ObjectNode) YAML.readTree(yaml);
            if (hold) {
                ((ObjectNode) pod.path("metadata").path("annotations"))
                        .put(PodOverrides.PROXY_CONFIG, "holdApplicationUntilProxyStarts: true\n");
            }
            return pod;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
