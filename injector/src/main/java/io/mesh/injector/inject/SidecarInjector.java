package io.mesh.injector.inject;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.zjsonpatch.DiffFlags;
import io.fabric8.zjsonpatch.JsonDiff;
import io.mesh.injector.template.InjectionTemplate;
import io.mesh.injector.template.TemplateRefused;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Injection as a pure function: (pod, namespace, namespace labels) with a template and the mesh settings
 * passed in, to a skip, a JSON patch, or a refusal. It reads nothing else: no disk, no API, no clock, so the
 * same input always gives the same patch (the golden fixtures rely on it). Immutable and thread-safe.
 *
 * <p>The patch is the difference between the pod and the injected pod, as Istio computes it; it only adds
 * and replaces (no move or copy operations).
 *
 * <p>Rendering is memoized by the template values: the pods of one Deployment render identically, and
 * parsing the rendered YAML is most of the cost of a review. The memo is bounded, synchronized, and dies
 * with this injector when the template changes. Rendered overlays are never modified (the merge copies).
 */
public final class SidecarInjector {

    /** The sidecar's status port: merged metrics and the rewritten app probes. */
    static final int STATUS_PORT = 15020;

    private static final EnumSet<DiffFlags> PATCH_FLAGS = EnumSet.of(
            DiffFlags.OMIT_VALUE_ON_REMOVE, DiffFlags.OMIT_MOVE_OPERATION, DiffFlags.OMIT_COPY_OPERATION);

    /** Distinct renders kept; each is a few kilobytes. */
    private static final int MEMO_SIZE = 256;

    private final InjectionTemplate template;
    private final MeshSettings mesh;
    private final Map<Map<String, Object>, ObjectNode> rendered = Collections.synchronizedMap(
            new LinkedHashMap<>(64, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Map<String, Object>, ObjectNode> eldest) {
                    return size() > MEMO_SIZE;
                }
            });

    public SidecarInjector(InjectionTemplate template, MeshSettings mesh) {
        this.template = template;
        this.mesh = mesh;
    }

    public InjectionTemplate template() {
        return template;
    }

    /**
     * @param pod the pod as the API server sent it; not modified
     * @param namespace the request's namespace (a controller's pod has no metadata.namespace yet)
     */
    public InjectionOutcome inject(ObjectNode pod, String namespace, Map<String, String> namespaceLabels) {
        PodView original = new PodView(pod);
        Optional<String> skip = InjectionPolicy.skipReason(original, namespace, namespaceLabels);
        if (skip.isPresent()) {
            return InjectionOutcome.skipped(skip.get());
        }
        try {
            if (original.containers().isEmpty()) {
                throw new InjectionRefused("the pod has no containers");
            }
            PodOverrides overrides = PodOverrides.from(original, mesh);
            ObjectNode injected = pod.deepCopy();
            PodView copy = new PodView(injected);
            Map<String, ObjectNode> probers = overrides.rewriteProbes()
                    ? ProbeRewrite.rewrite(copy.containers(), STATUS_PORT) : Map.of();
            ObjectNode overlay = render(TemplateValues.of(original, namespace, overrides, mesh, probers));
            PodMerge.merge(injected, overlay, overrides.holdApplicationUntilProxyStarts());
            return InjectionOutcome.injected((ArrayNode) JsonDiff.asJson(pod, injected, PATCH_FLAGS));
        } catch (InjectionRefused e) {
            return InjectionOutcome.refused(e.getMessage());
        } catch (TemplateRefused e) {
            return InjectionOutcome.refused(e.getMessage());
        }
    }

    private ObjectNode render(Map<String, Object> values) throws TemplateRefused {
        ObjectNode overlay = rendered.get(values);
        if (overlay == null) {
            overlay = template.render(values);
            rendered.put(values, overlay);
        }
        return overlay;
    }
}
