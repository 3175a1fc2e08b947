package io.mesh.injector.kube;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.mesh.common.concurrent.DaemonThreads;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * Keeps {@code caBundle} of every webhook in the MutatingWebhookConfiguration equal to the bundle that
 * verifies the injector's current certificate: at start, after each rotation, and whenever someone
 * re-applies the configuration without it (it is watched). Patches run one at a time on a thread of their
 * own, never on an informer or event-loop thread.
 */
public final class WebhookCaBundlePublisher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(WebhookCaBundlePublisher.class);

    private final KubernetesClient client;
    private final String name;
    private final AtomicReference<String> desired = new AtomicReference<>();
    private final ExecutorService patcher = Executors.newSingleThreadExecutor(DaemonThreads.named("webhook-ca-bundle"));
    private final SharedIndexInformer<MutatingWebhookConfiguration> informer;
    private volatile String status = "no certificate yet";
    private volatile boolean current;

    public WebhookCaBundlePublisher(KubernetesClient client, String name) {
        this.client = client;
        this.name = name;
        informer = client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(name).runnableInformer(0);
        informer.exceptionHandler((started, error) -> {
            LOG.warnf("watching MutatingWebhookConfiguration %s failed (retrying): %s", name, error.toString());
            return true;
        });
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(MutatingWebhookConfiguration configuration) {
                patcher.execute(() -> patchIfStale(configuration));
            }

            @Override
            public void onUpdate(MutatingWebhookConfiguration before, MutatingWebhookConfiguration after) {
                patcher.execute(() -> patchIfStale(after));
            }

            @Override
            public void onDelete(MutatingWebhookConfiguration configuration, boolean finalStateUnknown) {
                current = false;
                status = "MutatingWebhookConfiguration " + name + " was deleted";
            }
        });
        informer.start();
    }

    /**
     * Publishes the PEM bundle and waits (bounded) for the patch, so a rotation can start serving the new
     * certificate only once the API server trusts it.
     */
    public void publish(String bundlePem) {
        desired.set(Base64.getEncoder().encodeToString(bundlePem.getBytes(StandardCharsets.UTF_8)));
        try {
            patcher.submit(() -> patchIfStale(client.admissionRegistration().v1().mutatingWebhookConfigurations()
                    .withName(name).get())).get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warnf("publishing the caBundle to %s failed; the watch retries: %s", name, e.toString());
        }
    }

    /** Whether the configuration holds the current bundle, and if not, why. */
    public boolean current() {
        return current;
    }

    public String status() {
        return status;
    }

    private void patchIfStale(MutatingWebhookConfiguration configuration) {
        String bundle = desired.get();
        if (bundle == null) {
            return;
        }
        if (configuration == null) {
            current = false;
            status = "MutatingWebhookConfiguration " + name + " not found";
            return;
        }
        if (configuration.getWebhooks().stream().allMatch(w -> w.getClientConfig() == null
                || Objects.equals(bundle, w.getClientConfig().getCaBundle()))) {
            current = true;
            status = "caBundle current";
            return;
        }
        try {
            client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(name).edit(c -> {
                for (MutatingWebhook webhook : c.getWebhooks()) {
                    if (webhook.getClientConfig() != null) {
                        webhook.getClientConfig().setCaBundle(bundle);
                    }
                }
                return c;
            });
            current = true;
            status = "caBundle current";
            LOG.infof("caBundle of MutatingWebhookConfiguration %s updated", name);
        } catch (RuntimeException e) {
            current = false;
            status = "patching MutatingWebhookConfiguration " + name + " failed: " + e.getMessage();
            LOG.warn(status);
        }
    }

    @Override
    public void close() {
        informer.close();
        patcher.shutdownNow();
    }
}
