package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Store;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mesh.config.ConfigKey;
import io.mesh.config.KubernetesGateway;
import io.mesh.config.PolicyTargetRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import org.jboss.logging.Logger;

/**
 * istiod's gateway deployment controller (Kubernetes mode, {@code mesh.pilot.gateway-api.deployment-controller}): for
 * every Gateway that {@link GatewayDeploymentTemplate#managed} says istiod deploys, keeps the ServiceAccount, Service and
 * Deployment of {@link GatewayDeploymentTemplate} applied (server-side apply with force, as istiod's, field manager
 * {@code istio.io-gateway-controller}), and deletes the ones it manages (label {@code gateway.istio.io/managed}) whose
 * Gateway is gone or no longer deployed by it (a cluster also deletes them through their owner reference).
 *
 * <p>It works from informer caches, as istiod: the Gateways' metadata from the Gateway informer ({@code gateways}),
 * the Services from the registry's informer on all Services (istiod too reuses its full Service informer), and the
 * Deployments and ServiceAccounts from informers of its own that list only the managed ones. So a run in which nothing
 * changed makes no API call; an object is applied again only when what it would apply changed, or when the object is
 * missing or was changed since its apply (another resourceVersion: someone edited or deleted it, and its informer event
 * asked for the run); while the cache still shows the object as it was before pilot's own apply, the run waits for the
 * informer's event rather than applying again (unless a delete was reported meanwhile). It runs after every change of
 * config and every event on its objects, on its own thread, coalescing requests. A failed apply is logged and retried at
 * the next change.
 *
 * <p>Thread-safety: {@link #request} may be called from any thread; the work runs on one thread.
 */
final class GatewayDeploymentController implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(GatewayDeploymentController.class);
    /** Server-side apply, forcing conflicts, as the one field manager of what it applies (istiod's controller name). */
    private static final PatchContext APPLY = new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
            .withFieldManager("istio.io-gateway-controller").withForce(true).build();

    /**
     * What it applied to one object: the applied JSON, the resourceVersion the API server answered with (null when it
     * left the object alone), the one the cache had before (null: none), and whether the cache has shown the answer yet.
     */
    private record Applied(String json, String resourceVersion, String before, boolean seen) {
    }

    private final KubernetesClient client;
    private final ConfigStore store;
    private final BiFunction<String, String, GenericKubernetesResource> gateways;
    private final GatewayDeploymentTemplate.Settings settings;
    private final SharedIndexInformer<Deployment> deployments;
    private final SharedIndexInformer<ServiceAccount> serviceAccounts;
    private final Store<Service> services;
    /** The managed objects ("KIND/NS/NAME") whose informer reported a delete that no run has handled yet. */
    private final Set<String> deletedSinceApply = ConcurrentHashMap.newKeySet();
    private final CoalescingWorker worker = new CoalescingWorker("pilot-gateway-deployments", this::run);
    /** Set once the informers have synced: before that, the Gateways and objects not yet listed would look missing. */
    private volatile boolean started;
    /**
     * What was last applied, by "KIND/NS/NAME" (resourceVersion null: someone else's object, left alone); only the
     * worker's thread touches it.
     */
    private final Map<String, Applied> applied = new HashMap<>();
    /** The Gateways ("NS/NAME") whose infrastructure could not be read, with why (logged once). */
    private final Map<String, String> rejected = new HashMap<>();
    /** Completed runs, for tests that wait for one before counting what it did. */
    private volatile long runs;

    /**
     * @param gateways the Gateway (as its informer last saw it) by namespace and name, or null
     * @param services an informer on all Services (the registry's; this adds a handler to it)
     */
    GatewayDeploymentController(KubernetesClient client, ConfigStore store,
            BiFunction<String, String, GenericKubernetesResource> gateways, SharedIndexInformer<Service> services,
            GatewayDeploymentTemplate.Settings settings) {
        this.client = client;
        this.store = store;
        this.gateways = gateways;
        this.services = services.getStore();
        services.addEventHandler(requestOnEvent());
        this.settings = settings;
        String managed = GatewayDeploymentTemplate.MANAGED_LABEL;
        this.deployments = client.apps().deployments().inAnyNamespace()
                .withLabel(managed, GatewayDeploymentTemplate.MANAGED_VALUE).runnableInformer(0);
        this.serviceAccounts = client.serviceAccounts().inAnyNamespace()
                .withLabel(managed, GatewayDeploymentTemplate.MANAGED_VALUE).runnableInformer(0);
        deployments.addEventHandler(requestOnEvent());
        serviceAccounts.addEventHandler(requestOnEvent());
    }

    /** Its informers (not started); the caller starts them with its others, before {@link #start}, and closes them. */
    List<SharedIndexInformer<?>> informers() {
        return List.of(deployments, serviceAccounts);
    }

    /** Starts reconciling, once every informer has synced; requests before this are dropped. */
    void start() {
        started = true;
        request();
    }

    /** Asks for the deployments to be brought up to date (soon, once for any number of requests meanwhile). */
    void request() {
        if (started) {
            worker.request();
        }
    }

    /** How many runs have completed. */
    long runs() {
        return runs;
    }

    /** Whether no run is pending nor running. */
    boolean idle() {
        return worker.idle();
    }

    private void run() {
        Set<String> wanted = new HashSet<>();
        Set<String> unreadable = new HashSet<>();
        for (Map.Entry<ConfigKey, Object> e : store.accepted().entrySet()) {
            if (!(e.getValue() instanceof KubernetesGateway gateway) || !GatewayDeploymentTemplate.managed(gateway)) {
                continue;
            }
            GenericKubernetesResource live = gateways.apply(gateway.namespace(), gateway.name());
            if (live == null) {
                continue;   // deleted since the snapshot: what it had goes below
            }
            String id = gateway.namespace() + "/" + gateway.name();
            GatewayInfrastructure infrastructure;
            try {
                infrastructure = GatewayInfrastructure.of(live);
                rejected.remove(id);
            } catch (IllegalArgumentException ex) {
                // Its objects stay as they are (the last good state) until it is fixed.
                unreadable.add(id);
                if (!ex.getMessage().equals(rejected.put(id, ex.getMessage()))) {
                    LOG.warnf("not deploying Gateway %s: %s (its objects stay as they are)", id, ex.getMessage());
                }
                continue;
            }
            for (HasMetadata object : GatewayDeploymentTemplate.render(gateway, infrastructure, settings)) {
                String key = key(object);
                wanted.add(key);
                try {
                    apply(object, key);
                } catch (KubernetesClientException | IllegalStateException ex) {
                    LOG.warnf("deploying %s for Gateway %s/%s failed (retried at the next change): %s", key,
                            gateway.namespace(), gateway.name(),
                            ex.getCause() == null ? ex.getMessage() : ex.getMessage() + ": " + ex.getCause());
                }
            }
        }
        rejected.keySet().retainAll(unreadable);
        deleteUnwanted(wanted, unreadable);
        applied.keySet().retainAll(wanted);
        deletedSinceApply.retainAll(wanted);
        runs++;
    }

    private void apply(HasMetadata object, String key) {
        String json = Serialization.asJson(object);
        HasMetadata current = cached(object);
        Applied last = applied.get(key);
        String version = current == null ? null : current.getMetadata().getResourceVersion();
        boolean deleted = deletedSinceApply.remove(key);
        if (last != null && last.json().equals(json)) {
            if (last.resourceVersion() == null) {
                return;   // someone else's, left alone
            }
            if (last.resourceVersion().equals(version)) {
                if (!last.seen()) {
                    applied.put(key, new Applied(json, last.resourceVersion(), last.before(), true));
                }
                return;   // as applied, and nobody changed it since
            }
            if (!last.seen() && !deleted && Objects.equals(version, last.before())) {
                return;   // the cache has not caught up with the apply yet; its event asks for another run
            }
        }
        if (!managed(current)) {
            // istiod's canManage: an object of that name that is not marked as the controller's is someone else's (a
            // ServiceAccount the service-account annotation names, say), never taken over. Only the Service cache
            // holds unmarked objects, so a Deployment or ServiceAccount not in its cache is read once.
            HasMetadata existing = current != null || object instanceof Service ? current : client.resource(object).get();
            if (existing != null && !managed(existing)) {
                applied.put(key, new Applied(json, null, null, false));
                LOG.infof("left %s alone: it exists without the label %s, so it is not pilot's", key,
                        GatewayDeploymentTemplate.MANAGED_LABEL);
                return;
            }
        }
        HasMetadata result = client.resource(object).patch(APPLY);
        applied.put(key, new Applied(json, result.getMetadata().getResourceVersion(), version, false));
        LOG.infof("%s %s for Gateway %s", current == null ? "deployed" : "applied again", key,
                object.getMetadata().getLabels().get(PolicyTargetRef.GATEWAY_NAME_LABEL));
    }

    private static boolean managed(HasMetadata object) {
        Map<String, String> labels = object == null ? null : object.getMetadata().getLabels();
        return labels != null && GatewayDeploymentTemplate.MANAGED_VALUE.equals(
                labels.get(GatewayDeploymentTemplate.MANAGED_LABEL));
    }

    /** The object's live version in its informer's cache (of all Services, of managed Deployments and ServiceAccounts), or null. */
    private HasMetadata cached(HasMetadata object) {
        String id = object.getMetadata().getNamespace() + "/" + object.getMetadata().getName();
        if (object instanceof Deployment) {
            return deployments.getStore().getByKey(id);
        }
        if (object instanceof ServiceAccount) {
            return serviceAccounts.getStore().getByKey(id);
        }
        if (object instanceof Service) {
            return services.getByKey(id);
        }
        throw new IllegalStateException("no informer for " + object.getKind());
    }

    /**
     * Deletes the managed objects (from the caches) whose "KIND/NS/NAME" is not {@code wanted}, but those of the Gateways
     * ("NS/NAME") in {@code kept}.
     */
    private void deleteUnwanted(Set<String> wanted, Set<String> kept) {
        List<HasMetadata> managed = new ArrayList<>();
        managed.addAll(deployments.getStore().list());
        managed.addAll(serviceAccounts.getStore().list());
        services.list().stream().filter(GatewayDeploymentController::managed).forEach(managed::add);
        for (HasMetadata object : managed) {
            String key = key(object);
            if (wanted.contains(key) || kept.contains(object.getMetadata().getNamespace() + "/"
                    + object.getMetadata().getLabels().get(PolicyTargetRef.GATEWAY_NAME_LABEL))) {
                continue;
            }
            try {
                client.resource(object).delete();
                applied.remove(key);
                LOG.infof("removed %s: its Gateway is gone or no longer deployed by pilot", key);
            } catch (KubernetesClientException ex) {
                LOG.warnf("removing %s failed (retried at the next change): %s", key, ex.getMessage());
            }
        }
    }

    private static String key(HasMetadata object) {
        return object.getKind() + "/" + object.getMetadata().getNamespace() + "/" + object.getMetadata().getName();
    }

    private <T extends HasMetadata> ResourceEventHandler<T> requestOnEvent() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                request();
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                request();
            }

            @Override
            public void onDelete(T obj, boolean unknownFinalState) {
                if (managed(obj)) {
                    deletedSinceApply.add(key(obj));
                }
                request();
            }
        };
    }

    @Override
    public void close() {
        worker.close();
    }
}
