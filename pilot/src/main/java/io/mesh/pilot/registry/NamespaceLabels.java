package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.mesh.config.KubernetesGateway;
import io.mesh.config.LabelSelector;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Kubernetes mode's Namespaces and their labels, which a Gateway API listener's
 * {@code allowedRoutes.namespaces.from: Selector} selects. As istiod (which re-translates only when a label a selector
 * reads changes), while some listener has a namespace selector, a Namespace that comes, goes or changes a label key
 * one reads triggers a config push; any other Namespace change does not.
 *
 * <p>Thread-safety: the informer's handler runs on Fabric8's thread; {@link #labels} reads its cache.
 */
final class NamespaceLabels {
    private final SharedIndexInformer<Namespace> informer;

    NamespaceLabels(KubernetesClient client, ConfigStore store, Consumer<String> configChanged) {
        informer = client.namespaces().runnableInformer(0);
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Namespace ns) {
                changed(null, ns);
            }

            @Override
            public void onUpdate(Namespace before, Namespace after) {
                changed(before, after);
            }

            @Override
            public void onDelete(Namespace ns, boolean unknownFinalState) {
                changed(ns, null);
            }

            private void changed(Namespace before, Namespace after) {
                java.util.List<LabelSelector> selectors = selectors(store);
                if (!selectors.isEmpty() && (before == null || after == null || selectors.stream()
                        .flatMap(s -> s.keys().stream()).anyMatch(k -> !Objects.equals(labelsOf(before).get(k),
                                labelsOf(after).get(k))))) {
                    configChanged.accept("namespace");
                }
            }
        });
    }

    SharedIndexInformer<Namespace> informer() {
        return informer;
    }

    /** By namespace, its labels. */
    Map<String, Map<String, String>> labels() {
        Map<String, Map<String, String>> out = new HashMap<>();
        for (Namespace ns : informer.getStore().list()) {
            out.put(ns.getMetadata().getName(), labelsOf(ns));
        }
        return out;
    }

    private static Map<String, String> labelsOf(Namespace ns) {
        return ns.getMetadata().getLabels() == null ? Map.of() : ns.getMetadata().getLabels();
    }

    /** The namespace selectors of the Gateway API Gateways in force. */
    private static java.util.List<LabelSelector> selectors(ConfigStore store) {
        java.util.List<LabelSelector> out = new java.util.ArrayList<>();
        for (Object model : store.accepted().values()) {
            if (model instanceof KubernetesGateway g && g.owned()) {
                g.listeners().stream().filter(l -> l.namespaceSelector() != null)
                        .forEach(l -> out.add(l.namespaceSelector()));
            }
        }
        return out;
    }
}
