package io.mesh.injector.kube;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.mesh.injector.inject.NamespaceLabels;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jboss.logging.Logger;

/**
 * Namespace labels from an informer's cache, so a review costs no API call. A namespace the cache has not
 * seen yet (it was created a moment ago) is read once from the API on a worker thread.
 */
public final class KubernetesNamespaceLabels implements NamespaceLabels, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(KubernetesNamespaceLabels.class);

    private final KubernetesClient client;
    private final Vertx vertx;
    private final SharedIndexInformer<Namespace> informer;

    public KubernetesNamespaceLabels(KubernetesClient client, Vertx vertx) {
        this.client = client;
        this.vertx = vertx;
        this.informer = client.namespaces().runnableInformer(0);
        informer.exceptionHandler((started, error) -> {
            LOG.warnf("watching namespaces failed (retrying): %s", error.toString());
            return true;
        });
        informer.start();
    }

    public boolean synced() {
        return informer.hasSynced();
    }

    @Override
    public CompletionStage<Map<String, String>> of(String namespace) {
        Namespace cached = informer.getStore().getByKey(namespace);
        if (cached != null) {
            return CompletableFuture.completedFuture(labels(cached));
        }
        return vertx.executeBlocking(() -> {
            Namespace fetched = client.namespaces().withName(namespace).get();
            return fetched == null ? Map.<String, String>of() : labels(fetched);
        }, false).toCompletionStage();
    }

    private static Map<String, String> labels(Namespace namespace) {
        Map<String, String> labels = namespace.getMetadata() == null ? null : namespace.getMetadata().getLabels();
        return labels == null ? Map.of() : labels;
    }

    @Override
    public void close() {
        informer.close();
    }
}
