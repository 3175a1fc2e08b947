package io.mesh.injector.inject;

import io.mesh.injector.InjectionMetrics;
import io.mesh.injector.webhook.AdmissionHandler;
import io.mesh.injector.webhook.AdmissionRequest;
import io.mesh.injector.webhook.AdmissionResult;
import io.mesh.injector.webhook.BadAdmissionReview;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jboss.logging.Logger;

/**
 * {@code POST /inject}: the one handler of the admission server. It checks that the review is about
 * creating a Pod, takes the injector in use and the namespace's labels, and turns the outcome into an
 * admission result: a JSON patch, a plain admit for skipped pods, or a denial with the reason.
 */
public final class InjectHandler implements AdmissionHandler {

    private static final Logger LOG = Logger.getLogger(InjectHandler.class);

    private final CurrentInjector injector;
    private final NamespaceLabels namespaces;
    private final InjectionMetrics metrics;

    public InjectHandler(CurrentInjector injector, NamespaceLabels namespaces, InjectionMetrics metrics) {
        this.injector = injector;
        this.namespaces = namespaces;
        this.metrics = metrics;
    }

    @Override
    public CompletionStage<AdmissionResult> admit(AdmissionRequest request) {
        long start = System.nanoTime();
        if (!request.kind().equals("/v1/Pod")) {
            throw new BadAdmissionReview("/inject admits Pods (v1), not '" + request.kind()
                    + "'; check the webhook configuration's rules");
        }
        metrics.request();
        if (!request.operation().isEmpty() && !request.operation().equals("CREATE")) {
            metrics.skipped(start);
            return CompletableFuture.completedFuture(AdmissionResult.admit());
        }
        Optional<SidecarInjector> current = injector.get();
        if (current.isEmpty()) {
            metrics.failed(start);
            return CompletableFuture.completedFuture(AdmissionResult.deny("the sidecar injector has no valid injection template"
                    + injector.lastError().map(e -> ": " + e).orElse(" yet")));
        }
        String namespace = !request.namespace().isEmpty() ? request.namespace()
                : request.object().path("metadata").path("namespace").asText("default");
        return namespaces.of(namespace).thenApply(labels -> decide(current.get(), request, namespace, labels, start));
    }

    private AdmissionResult decide(SidecarInjector sidecar, AdmissionRequest request, String namespace,
            Map<String, String> labels, long start) {
        InjectionOutcome outcome = sidecar.inject(request.object(), namespace, labels);
        String pod = namespace + "/" + (request.name().isEmpty()
                ? request.object().path("metadata").path("generateName").asText("") + "*" : request.name());
        switch (outcome.kind()) {
            case INJECTED -> {
                metrics.injected(start);
                LOG.debugf("injected %s", pod);
                return AdmissionResult.admit(outcome.patch());
            }
            case SKIPPED -> {
                metrics.skipped(start);
                LOG.debugf("not injecting %s: %s", pod, outcome.reason());
                return AdmissionResult.admit();
            }
            default -> {
                metrics.failed(start);
                LOG.infof("refusing %s: %s", pod, outcome.reason());
                return AdmissionResult.deny("sidecar injection failed for pod " + pod + ": " + outcome.reason());
            }
        }
    }
}
