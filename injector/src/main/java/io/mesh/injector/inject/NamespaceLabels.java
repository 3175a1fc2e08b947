package io.mesh.injector.inject;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The labels of a namespace, for the {@code istio-injection} rule. An AdmissionReview carries the pod but
 * not its namespace, so they come from elsewhere: an informer's cache in Kubernetes mode, configuration
 * locally. Must not block the caller; an unknown namespace has no labels.
 */
@FunctionalInterface
public interface NamespaceLabels {

    CompletionStage<Map<String, String>> of(String namespace);
}
