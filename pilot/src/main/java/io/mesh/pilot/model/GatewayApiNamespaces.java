package io.mesh.pilot.model;

import io.mesh.config.LabelSelector;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The namespaces a Gateway API listener's {@code allowedRoutes.namespaces.from: Selector} chooses among, with their
 * labels: the Namespace objects pilot knows (Kubernetes' Namespaces; in local mode the folder's Namespace documents),
 * and every namespace a route is in, without labels when no Namespace object names it. As istiod's
 * {@code toNamespaceSet}, every namespace carries {@code kubernetes.io/metadata.name: NAME}, the label the API server
 * sets. Immutable.
 */
public final class GatewayApiNamespaces {
    /** The label the API server puts on every Namespace: its name. */
    public static final String NAME_LABEL = "kubernetes.io/metadata.name";

    public static final GatewayApiNamespaces NONE = new GatewayApiNamespaces(Map.of(), List.of());

    private final Map<String, Map<String, String>> labels = new HashMap<>();

    /**
     * @param labels by namespace, the labels of its Namespace object
     * @param others namespaces that exist without a known Namespace object (the routes')
     */
    public GatewayApiNamespaces(Map<String, Map<String, String>> labels, Collection<String> others) {
        others.forEach(ns -> this.labels.put(ns, Map.of(NAME_LABEL, ns)));
        labels.forEach((ns, l) -> {
            Map<String, String> withName = new HashMap<>(l);
            withName.put(NAME_LABEL, ns);
            this.labels.put(ns, Map.copyOf(withName));
        });
    }

    /** The namespaces the selector selects, sorted (as istiod lists them in the server's hosts). */
    public List<String> selected(LabelSelector selector) {
        return labels.entrySet().stream().filter(e -> selector.matches(e.getValue())).map(Map.Entry::getKey).sorted()
                .toList();
    }
}
