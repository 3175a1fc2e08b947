package io.mesh.cli;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mesh.config.Kind;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What {@code meshctl analyze} reads from a cluster when it is given no files, as {@code istioctl analyze} does: every
 * Istio resource of the kinds pilot serves ({@code v1}, all namespaces), every Service, Namespace and Pod, each as its
 * own YAML document. A kind whose CRD is not installed is skipped, as pilot skips it. Of a Pod only what the analyzers
 * look at is kept (name, namespace, labels, the injection annotation, container names), so a large cluster's pods stay small.
 */
final class ClusterConfig {

    private ClusterConfig() {
    }

    /**
     * The cluster's config, one source per resource, in kind, namespace and name order: what {@code client} reads, and
     * the {@code namespaces} and {@code pods} the caller has read already.
     */
    static List<ConfigAnalyzer.Source> read(KubernetesClient client, List<io.fabric8.kubernetes.api.model.Namespace> namespaces,
            List<io.fabric8.kubernetes.api.model.Pod> pods) {
        List<ConfigAnalyzer.Source> sources = new ArrayList<>();
        for (Kind kind : Kind.values()) {
            ResourceDefinitionContext context = new ResourceDefinitionContext.Builder().withGroup(kind.group)
                    .withVersion(kind.kubernetesVersion()).withKind(kind.kindName).withPlural(kind.plural).withNamespaced(true).build();
            List<GenericKubernetesResource> items;
            try {
                items = client.genericKubernetesResources(context).inAnyNamespace().list().getItems();
            } catch (KubernetesClientException e) {
                if (e.getCode() == 404) {
                    continue;   // the CRD is not installed
                }
                throw e;
            }
            items.stream().sorted(ORDER).forEach(r -> {
                r.getAdditionalProperties().remove("status");
                sources.add(source(r));
            });
        }
        client.services().inAnyNamespace().list().getItems().stream().sorted(ORDER).forEach(s -> {
            s.setStatus(null);
            sources.add(source(s));
        });
        namespaces.stream().sorted(ORDER).forEach(n -> sources.add(source(new io.fabric8.kubernetes.api.model.NamespaceBuilder()
                .withMetadata(n.getMetadata()).build())));
        pods.stream().sorted(ORDER).forEach(p -> sources.add(source(
                new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName(p.getMetadata().getName())
                        .withNamespace(p.getMetadata().getNamespace()).withLabels(p.getMetadata().getLabels())
                        .withAnnotations(injectAnnotation(p)).endMetadata().withNewSpec()
                        .withContainers(names(p.getSpec().getContainers()))
                        .withInitContainers(names(p.getSpec().getInitContainers())).endSpec().build())));
        return sources;
    }

    private static final Comparator<HasMetadata> ORDER = Comparator
            .comparing((HasMetadata r) -> r.getMetadata().getNamespace() == null ? "" : r.getMetadata().getNamespace())
            .thenComparing(r -> r.getMetadata().getName());

    /** Of a pod's annotations, the only one the analyzers read (the others can be large: last-applied-configuration). */
    private static java.util.Map<String, String> injectAnnotation(io.fabric8.kubernetes.api.model.Pod pod) {
        java.util.Map<String, String> annotations = pod.getMetadata().getAnnotations();
        String inject = annotations == null ? null : annotations.get("sidecar.istio.io/inject");
        return inject == null ? null : java.util.Map.of("sidecar.istio.io/inject", inject);
    }

    private static List<io.fabric8.kubernetes.api.model.Container> names(List<io.fabric8.kubernetes.api.model.Container> containers) {
        return containers == null ? List.of() : containers.stream().map(c -> new io.fabric8.kubernetes.api.model.ContainerBuilder()
                .withName(c.getName()).build()).toList();
    }

    /** Findings about a cluster's resources name no file: the resource column says which one. */
    private static ConfigAnalyzer.Source source(HasMetadata resource) {
        resource.getMetadata().setManagedFields(null);
        return new ConfigAnalyzer.Source("", null, Serialization.asYaml(resource));
    }
}
