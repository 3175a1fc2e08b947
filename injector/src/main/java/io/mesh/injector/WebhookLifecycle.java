package io.mesh.injector;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.vertx.VertxHttpClientFactory;
import io.mesh.common.mode.MeshMode;
import io.mesh.injector.inject.CurrentInjector;
import io.mesh.injector.inject.InjectHandler;
import io.mesh.injector.inject.InjectionPolicy;
import io.mesh.injector.inject.MeshSettings;
import io.mesh.injector.inject.NamespaceLabels;
import io.mesh.injector.kube.ConfigMapTemplateWatcher;
import io.mesh.injector.kube.KubernetesNamespaceLabels;
import io.mesh.injector.kube.WebhookCaBundlePublisher;
import io.mesh.injector.template.FileTemplateWatcher;
import io.mesh.injector.template.InjectionTemplate;
import io.mesh.injector.tls.CaBundleFile;
import io.mesh.injector.tls.CertificateRotation;
import io.mesh.injector.tls.ServingCertificate;
import io.mesh.injector.tls.ServingCertificateSource;
import io.mesh.injector.webhook.AdmissionReviewCodec;
import io.mesh.injector.webhook.AdmissionServer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import jakarta.interceptor.Interceptor;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Wires the injector for the mode it runs in and owns the lifecycle of what it starts: the template
 * source (a file or a ConfigMap), the namespace labels, the certificate rotation with its bundle publishers
 * (a local file, the webhook configuration), and the admission server. Started before the startup log
 * line, stopped with Quarkus.
 */
@Singleton
public class WebhookLifecycle {

    private static final Logger LOG = Logger.getLogger(WebhookLifecycle.class);
    static final String INJECT_PATH = "/inject";

    private final InjectorConfig config;
    private final MeshMode mode;
    private final Vertx vertx;
    private final InjectionMetrics metrics;
    private final ServingCertificateSource certificates;
    private final String httpHost;
    private final CurrentInjector injector;
    private final List<AutoCloseable> started = new java.util.concurrent.CopyOnWriteArrayList<>();

    private volatile AdmissionServer server;
    private volatile WebhookCaBundlePublisher caBundle;
    private volatile CaBundleFile caBundleFile;
    private volatile CertificateRotation rotation;

    WebhookLifecycle(InjectorConfig config, MeshMode mode, Vertx vertx, InjectionMetrics metrics,
            ServingCertificateSource certificates,
            @ConfigProperty(name = "quarkus.http.host") String httpHost) {
        this.config = config;
        this.mode = mode;
        this.vertx = vertx;
        this.metrics = metrics;
        this.certificates = certificates;
        this.httpHost = httpHost;
        this.injector = new CurrentInjector(MeshSettings.from(config));
        injector.onReload(reload -> metrics.templateReload(reload.applied()));
    }

    void start(@Observes @Priority(Interceptor.Priority.LIBRARY_AFTER) StartupEvent event) throws Exception {
        List<Consumer<String>> bundlePublishers = new ArrayList<>();
        NamespaceLabels namespaces;
        CompletableFuture<Void> builtInChecked = CompletableFuture.completedFuture(null);
        if (mode == MeshMode.KUBERNETES) {
            // Configured the usual way: in-cluster service account, kubeconfig, or kubernetes.* properties.
            KubernetesClient client = new KubernetesClientBuilder()
                    .withHttpClientFactory(new VertxHttpClientFactory(vertx)).build();
            started.add(client);
            InjectorConfig.Kubernetes kube = config.kubernetes();
            // The built-in template until the ConfigMap (if any) is seen; checked while the certificate is made.
            builtInChecked = CompletableFuture.runAsync(this::useBuiltInTemplate).thenRun(() -> started.add(
                    new ConfigMapTemplateWatcher(client, kube.namespace(), kube.templateConfigMap(), kube.templateKey(), injector)));
            KubernetesNamespaceLabels labels = new KubernetesNamespaceLabels(client, vertx);
            started.add(labels);
            namespaces = labels;
            caBundle = new WebhookCaBundlePublisher(client, kube.webhookConfiguration());
            started.add(caBundle);
            bundlePublishers.add(caBundle::publish);
        } else {
            if (config.templateFile().isPresent()) {
                started.add(new FileTemplateWatcher(vertx, config.templateFile().get(), config.templatePollInterval(), injector));
            } else {
                builtInChecked = CompletableFuture.runAsync(this::useBuiltInTemplate);
            }
            // No Namespace objects locally: the configured namespaces count as labelled istio-injection=enabled.
            Map<String, String> enabled = Map.of(InjectionPolicy.NAMESPACE_LABEL, "enabled");
            java.util.Set<String> injected = java.util.Set.copyOf(config.local().injectedNamespaces());
            namespaces = namespace -> CompletableFuture.completedFuture(injected.contains(namespace) ? enabled : Map.of());
        }
        if (config.stateDir().isPresent()) {
            caBundleFile = new CaBundleFile(config.stateDir().get());
            bundlePublishers.add(caBundleFile);
        }

        AdmissionServer admission = new AdmissionServer(vertx,
                Map.of(INJECT_PATH, new InjectHandler(injector, namespaces, metrics)),
                new AdmissionReviewCodec(new ObjectMapper()));
        CertificateRotation rotation = new CertificateRotation(vertx, certificates, Clock.systemUTC(), bundlePublishers,
                certificate -> admission.updateCertificate(certificate.keyCertOptions()));
        ServingCertificate first = rotation.first();
        admission.start(webhookHost(), config.webhookPort(), config.webhookEventLoops(), first.keyCertOptions())
                .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        builtInChecked.get(60, TimeUnit.SECONDS);
        server = admission;
        started.add(rotation);
        this.rotation = rotation;
        rotation.schedule();
    }

    private void useBuiltInTemplate() {
        injector.useBuiltIn();
    }

    void stop(@Observes ShutdownEvent event) {
        AdmissionServer admission = server;
        if (admission != null) {
            try {
                admission.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.debugf("stopping the webhook server: %s", e.toString());
            }
        }
        for (AutoCloseable closeable : started) {
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.debugf("closing %s: %s", closeable, e.toString());
            }
        }
    }

    public String webhookHost() {
        return config.webhookHost().orElse(httpHost);
    }

    /** The port the webhook listens on, or -1 before it does. */
    public int webhookPort() {
        AdmissionServer admission = server;
        return admission == null ? -1 : admission.actualPort();
    }

    public CurrentInjector injector() {
        return injector;
    }

    /** Replaces the serving certificate now, publishing its bundle first (as a scheduled rotation does). */
    public Future<ServingCertificate> rotateCertificateNow() {
        return rotation.rotateNow();
    }

    /** Kubernetes mode: the caBundle publisher. */
    public Optional<WebhookCaBundlePublisher> caBundle() {
        return Optional.ofNullable(caBundle);
    }

    /** Where the trust bundle is written, when a state dir is set. */
    public Optional<CaBundleFile> caBundleFile() {
        return Optional.ofNullable(caBundleFile);
    }
}
