package io.mesh.injector.kube;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.mesh.injector.inject.CurrentInjector;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Kubernetes mode: the injection template is a key of a ConfigMap in the injector's namespace. Every
 * version of it is offered to the {@link CurrentInjector} (which refuses a broken one and keeps the last
 * good); when the ConfigMap is deleted the built-in template is used again.
 */
public final class ConfigMapTemplateWatcher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ConfigMapTemplateWatcher.class);

    private final SharedIndexInformer<ConfigMap> informer;

    public ConfigMapTemplateWatcher(KubernetesClient client, String namespace, String name, String key,
            CurrentInjector injector) {
        String origin = "ConfigMap " + namespace + "/" + name + " key " + key;
        informer = client.configMaps().inNamespace(namespace).withName(name).runnableInformer(0);
        informer.exceptionHandler((started, error) -> {
            LOG.warnf("watching %s failed (retrying): %s", origin, error.toString());
            return true;
        });
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap configMap) {
                offer(configMap);
            }

            @Override
            public void onUpdate(ConfigMap before, ConfigMap after) {
                offer(after);
            }

            @Override
            public void onDelete(ConfigMap configMap, boolean finalStateUnknown) {
                LOG.infof("%s was deleted; using the built-in template", origin);
                injector.useBuiltIn();
            }

            private void offer(ConfigMap configMap) {
                Map<String, String> data = configMap.getData();
                String template = data == null ? null : data.get(key);
                if (template == null) {
                    injector.refuse(origin, origin + " is missing");
                } else {
                    injector.offer(template, origin);
                }
            }
        });
        informer.start();
    }

    public boolean synced() {
        return informer.hasSynced();
    }

    @Override
    public void close() {
        informer.close();
    }
}
