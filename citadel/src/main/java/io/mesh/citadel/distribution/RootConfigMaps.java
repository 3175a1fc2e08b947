package io.mesh.citadel.distribution;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.mesh.citadel.ca.Pem;
import io.mesh.common.concurrent.DaemonThreads;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Keeps ConfigMap {@code istio-ca-root-cert} (key {@code root-cert.pem}) in every namespace, holding the current
 * trust bundle. Informers on namespaces and on these ConfigMaps drive it: a new namespace gets one, and an edited
 * or deleted one is put back. Writes happen on one thread, in event order, never on an informer thread.
 */
public final class RootConfigMaps implements Consumer<List<X509Certificate>>, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(RootConfigMaps.class);
    public static final String NAME = "istio-ca-root-cert";
    public static final String KEY = "root-cert.pem";

    private final KubernetesClient client;
    private final ExecutorService writer = Executors.newSingleThreadExecutor(
            DaemonThreads.named("citadel-root-configmaps"));
    private volatile String bundlePem;
    private SharedIndexInformer<Namespace> namespaces;
    private SharedIndexInformer<ConfigMap> configMaps;

    public RootConfigMaps(KubernetesClient client) {
        this.client = client;
    }

    /** Starts the informers; call after the first {@link #accept}. */
    public void start() {
        namespaces = client.namespaces().inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Namespace ns) {
                reconcileLater(ns.getMetadata().getName());
            }

            @Override
            public void onUpdate(Namespace before, Namespace after) {
                reconcileLater(after.getMetadata().getName());
            }

            @Override
            public void onDelete(Namespace ns, boolean unknown) {
            }
        });
        configMaps = client.configMaps().inAnyNamespace().withField("metadata.name", NAME).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap cm) {
                reconcileLater(cm.getMetadata().getNamespace());
            }

            @Override
            public void onUpdate(ConfigMap before, ConfigMap after) {
                reconcileLater(after.getMetadata().getNamespace());
            }

            @Override
            public void onDelete(ConfigMap cm, boolean unknown) {
                reconcileLater(cm.getMetadata().getNamespace());
            }
        });
    }

    /** A new trust bundle: every namespace's ConfigMap is brought up to date. */
    @Override
    public void accept(List<X509Certificate> bundle) {
        bundlePem = Pem.encode(bundle);
        if (namespaces != null) {
            namespaces.getStore().listKeys().forEach(this::reconcileLater);
        }
    }

    private void reconcileLater(String namespace) {
        writer.execute(() -> reconcile(namespace));
    }

    private void reconcile(String namespace) {
        String pem = bundlePem;
        if (pem == null || (namespaces != null && namespaces.getStore().getByKey(namespace) == null)) {
            return;
        }
        Map<String, String> desired = Map.of(KEY, pem);
        try {
            var resource = client.configMaps().inNamespace(namespace).withName(NAME);
            ConfigMap existing = resource.get();
            if (existing == null) {
                client.configMaps().inNamespace(namespace).resource(new ConfigMapBuilder().withNewMetadata().withName(NAME).withNamespace(namespace)
                        .addToLabels("istio.io/config", "true").endMetadata().withData(desired).build()).create();
                LOG.debugf("created ConfigMap %s/%s", namespace, NAME);
            } else if (!Objects.equals(existing.getData(), desired)) {
                resource.edit(cm -> new ConfigMapBuilder(cm).withData(desired).build());
                LOG.infof("restored ConfigMap %s/%s", namespace, NAME);
            }
        } catch (KubernetesClientException e) {
            // A conflict or a vanished namespace: the informer event that follows brings us back here.
            LOG.debugf("ConfigMap %s/%s not written: HTTP %d", namespace, NAME, e.getCode());
        }
    }

    @Override
    public void close() {
        if (namespaces != null) {
            namespaces.close();
        }
        if (configMaps != null) {
            configMaps.close();
        }
        writer.shutdownNow();
    }
}
