package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mesh.config.ConfigKey;
import io.mesh.config.Kind;
import io.mesh.config.KubernetesGateway;
import io.mesh.config.PolicyTargetRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import org.jboss.logging.Logger;

/**
 * istiod's gateway deployment controller (Kubernetes mode, {@code mesh.pilot.gateway-api.deployment-controller}): for
 * every Gateway that {@link GatewayDeploymentTemplate#managed} says istiod deploys, keeps the ServiceAccount, Service and
 * Deployment of {@link GatewayDeploymentTemplate} applied (server-side apply with force, as istiod's, field manager
 * {@code istio.io-gateway-controller}), and deletes the ones it manages (label {@code gateway.istio.io/managed}) whose
 * Gateway is gone or no longer deployed by it (a cluster also deletes them through their owner reference).
 *
 * <p>As istiod's, it reconciles one Gateway at a time, from informer caches, and only when something of that Gateway
 * changed: the Gateway itself (its informer's event, {@link #gatewayChanged}) or one of its objects (an add, update or
 * delete on the registry's informer on all Services, which istiod reuses too, or on its own informers on the
 * Deployments and ServiceAccounts with the managed label), which names its Gateway by its owner reference (istiod's
 * EnqueueForParentHandler), else by its {@code gateway.networking.k8s.io/gateway-name} label; a managed object naming
 * neither is an orphan. Other config changes do not concern it. At its start it reconciles every Gateway and every
 * managed object's Gateway once. A reconcile reads the Gateway's model from the {@link ConfigStore}, its metadata from
 * the Gateway informer ({@code gateways}) and its objects from the caches, so it makes no GET nor LIST. It applies an
 * object only when it is missing, when what pilot would apply changed since its last apply (or there was none since
 * pilot started), or when the live object no longer holds the fields pilot applies ({@link OwnedFields}: someone
 * edited it); so the cluster's own updates (a Deployment's rollout status, a load balancer's address, the
 * resourceVersion they bump) cause no apply. While the cache still shows an object as it was before pilot's own apply,
 * a reconcile waits for the informer's event rather than applying again (unless a delete was reported meanwhile). A
 * failed apply is logged and retried at the next event of its Gateway.
 *
 * <p>Thread-safety: the event handlers may be called from any thread; the work runs on one thread.
 */
final class GatewayDeploymentController implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(GatewayDeploymentController.class);
    /** Server-side apply, forcing conflicts, as the one field manager of what it applies (istiod's controller name). */
    private static final PatchContext APPLY = new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
            .withFieldManager("istio.io-gateway-controller").withForce(true).build();
    /** The index of the managed objects by the Gateway they belong to ("NS/NAME", or {@link #NO_GATEWAY}). */
    private static final String BY_GATEWAY = "gateway";
    /** What managed objects naming no Gateway (no owner reference, no gateway-name label) are indexed and queued by. */
    private static final String NO_GATEWAY = "(none)";
    private static final String GATEWAY_KEY = Kind.keyName(Kind.GATEWAY_API + "/v1", Kind.KUBERNETES_GATEWAY.kindName);

    /**
     * What it applied to one object for the Gateway {@code gateway}: the applied JSON, the resourceVersion the cache had
     * before (null: none), and whether the cache has shown the answer yet; {@code leftAlone}: the object was someone
     * else's, and nothing was applied.
     */
    private record Applied(String gateway, String json, String before, boolean seen, boolean leftAlone) {
    }

    private final KubernetesClient client;
    private final ConfigStore store;
    private final BiFunction<String, String, GenericKubernetesResource> gateways;
    private final GatewayDeploymentTemplate.Settings settings;
    private final SharedIndexInformer<Deployment> deployments;
    private final SharedIndexInformer<ServiceAccount> serviceAccounts;
    private final SharedIndexInformer<Service> services;
    /** The Gateways ("NS/NAME", or {@link #NO_GATEWAY}) to reconcile at the next run. */
    private final Set<String> queued = ConcurrentHashMap.newKeySet();
    /** Whether the next run reconciles every Gateway and every managed object's (the first run). */
    private final AtomicBoolean everything = new AtomicBoolean();
    /** The managed objects ("KIND/NS/NAME") whose informer reported a delete that no run has handled yet. */
    private final Set<String> deletedSinceApply = ConcurrentHashMap.newKeySet();
    private final CoalescingWorker worker = new CoalescingWorker("pilot-gateway-deployments", this::run);
    /** Set once the informers have synced: before that, the Gateways and objects not yet listed would look missing. */
    private volatile boolean started;
    /** What was last applied, by "KIND/NS/NAME"; only the worker's thread touches it. */
    private final Map<String, Applied> applied = new HashMap<>();
    /** The Gateways ("NS/NAME") whose infrastructure could not be read, with why (logged once). */
    private final Map<String, String> rejected = new HashMap<>();
    /** Completed runs, for tests that wait for one before counting what it did. */
    private volatile long runs;

    /**
     * @param gateways the Gateway (as its informer last saw it) by namespace and name, or null
     * @param services an informer on all Services, not started (the registry's; this adds a handler and an index to it)
     */
    GatewayDeploymentController(KubernetesClient client, ConfigStore store,
            BiFunction<String, String, GenericKubernetesResource> gateways, SharedIndexInformer<Service> services,
            GatewayDeploymentTemplate.Settings settings) {
        this.client = client;
        this.store = store;
        this.gateways = gateways;
        this.services = services;
        this.settings = settings;
        String managed = GatewayDeploymentTemplate.MANAGED_LABEL;
        this.deployments = client.apps().deployments().inAnyNamespace()
                .withLabel(managed, GatewayDeploymentTemplate.MANAGED_VALUE).runnableInformer(0);
        this.serviceAccounts = client.serviceAccounts().inAnyNamespace()
                .withLabel(managed, GatewayDeploymentTemplate.MANAGED_VALUE).runnableInformer(0);
        for (SharedIndexInformer<? extends HasMetadata> informer : List.of(deployments, serviceAccounts, services)) {
            indexAndFollow(informer);
        }
    }

    /** Indexes the managed objects of {@code informer} by their Gateway, and queues it on their events. */
    private <T extends HasMetadata> void indexAndFollow(SharedIndexInformer<T> informer) {
        informer.addIndexers(Map.of(BY_GATEWAY, o -> managed(o) ? List.of(gatewayOf(o)) : List.of()));
        informer.addEventHandler(queueItsGateway());
    }

    /** Its informers (not started); the caller starts them with its others, before {@link #start}, and closes them. */
    List<SharedIndexInformer<?>> informers() {
        return List.of(deployments, serviceAccounts);
    }

    /** Starts reconciling, once every informer has synced (every Gateway, once); events before this are dropped. */
    void start() {
        started = true;
        everything.set(true);
        worker.request();
    }

    /** The Gateway informer's event for {@code gateway} (any add, update or delete, a label's too). */
    void gatewayChanged(GenericKubernetesResource gateway) {
        queue(gateway.getMetadata().getNamespace() + "/" + gateway.getMetadata().getName());
    }

    /** How many runs have completed. */
    long runs() {
        return runs;
    }

    /** Whether no run is pending nor running. */
    boolean idle() {
        return worker.idle();
    }

    private void queue(String gateway) {
        if (started) {
            queued.add(gateway);
            worker.request();
        }
    }

    private void run() {
        Set<String> ids = new TreeSet<>();
        for (Iterator<String> it = queued.iterator(); it.hasNext();) {
            ids.add(it.next());
            it.remove();
        }
        Map<ConfigKey, Object> config = store.accepted();
        if (everything.getAndSet(false)) {
            config.forEach((key, model) -> {
                if (model instanceof KubernetesGateway gateway) {
                    ids.add(gateway.namespace() + "/" + gateway.name());
                }
            });
            managedObjects(null).forEach(o -> ids.add(gatewayOf(o)));
        }
        for (String id : ids) {
            reconcile(id, config);
        }
        deletedSinceApply.retainAll(applied.keySet());
        runs++;
    }

    /** Brings the objects of the Gateway {@code id} ("NS/NAME", or {@link #NO_GATEWAY}) up to date. */
    private void reconcile(String id, Map<ConfigKey, Object> config) {
        int slash = id.indexOf('/');
        String ns = slash < 0 ? null : id.substring(0, slash);
        String name = slash < 0 ? null : id.substring(slash + 1);
        KubernetesGateway gateway = ns != null && config.get(new ConfigKey(GATEWAY_KEY, ns, name))
                instanceof KubernetesGateway g && GatewayDeploymentTemplate.managed(g) ? g : null;
        GenericKubernetesResource live = gateway == null ? null : gateways.apply(ns, name);
        Set<String> wanted = new HashSet<>();
        if (live != null) {   // else deleted since the snapshot: its objects go below
            GatewayInfrastructure infrastructure;
            try {
                infrastructure = GatewayInfrastructure.of(live);
            } catch (IllegalArgumentException ex) {
                // Its objects stay as they are (the last good state) until it is fixed.
                if (!ex.getMessage().equals(rejected.put(id, ex.getMessage()))) {
                    LOG.warnf("not deploying Gateway %s: %s (its objects stay as they are)", id, ex.getMessage());
                }
                return;
            }
            for (HasMetadata object : GatewayDeploymentTemplate.render(gateway, infrastructure, settings)) {
                String key = key(object);
                wanted.add(key);
                try {
                    apply(object, key, id);
                } catch (KubernetesClientException | IllegalStateException ex) {
                    LOG.warnf("deploying %s for Gateway %s failed (retried at its next event): %s", key, id,
                            ex.getCause() == null ? ex.getMessage() : ex.getMessage() + ": " + ex.getCause());
                }
            }
        }
        rejected.remove(id);
        deleteUnwanted(id, wanted);
        applied.entrySet().removeIf(e -> e.getValue().gateway().equals(id) && !wanted.contains(e.getKey()));
    }

    private void apply(HasMetadata object, String key, String gateway) {
        String json = Serialization.asJson(object);
        HasMetadata current = cached(object);
        Applied last = applied.get(key);
        String version = current == null ? null : current.getMetadata().getResourceVersion();
        boolean deleted = deletedSinceApply.remove(key);
        if (last != null && last.json().equals(json)) {
            if (last.leftAlone()) {
                return;   // someone else's
            }
            if (!last.seen() && !deleted && Objects.equals(version, last.before())) {
                return;   // the cache has not caught up with the apply yet; its event reconciles again
            }
            if (current != null && OwnedFields.held(object, current)) {
                if (!last.seen()) {
                    applied.put(key, new Applied(gateway, json, last.before(), true, false));
                }
                return;   // as applied: what changed since (status, resourceVersion) is not pilot's
            }
        }
        if (!managed(current)) {
            // istiod's canManage: an object of that name that is not marked as the controller's is someone else's (a
            // ServiceAccount the service-account annotation names, say), never taken over. Only the Service cache
            // holds unmarked objects, so a Deployment or ServiceAccount not in its cache is read once, unless its
            // informer just reported the delete of the managed one (a label removed by hand is reported as the delete
            // of an unmarked one: that is read, and left alone).
            HasMetadata existing = current != null || object instanceof Service || deleted ? current
                    : client.resource(object).get();
            if (existing != null && !managed(existing)) {
                applied.put(key, new Applied(gateway, json, null, false, true));
                LOG.infof("left %s alone: it exists without the label %s, so it is not pilot's", key,
                        GatewayDeploymentTemplate.MANAGED_LABEL);
                return;
            }
        }
        HasMetadata result = client.resource(object).patch(APPLY);
        // An apply that changed nothing leaves the resourceVersion, and no event will come: the cache is up to date.
        boolean unchanged = version != null && version.equals(result.getMetadata().getResourceVersion());
        applied.put(key, new Applied(gateway, json, version, unchanged, false));
        LOG.infof("%s %s for Gateway %s", current == null ? "deployed" : "applied again", key, gateway);
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
            return services.getStore().getByKey(id);
        }
        throw new IllegalStateException("no informer for " + object.getKind());
    }

    /** The managed objects in the caches that belong to the Gateway {@code id} (null: all of them). */
    private List<HasMetadata> managedObjects(String id) {
        List<HasMetadata> out = new ArrayList<>();
        for (SharedIndexInformer<? extends HasMetadata> informer : List.of(deployments, serviceAccounts, services)) {
            if (id == null) {
                informer.getStore().list().stream().filter(GatewayDeploymentController::managed).forEach(out::add);
            } else {
                out.addAll(informer.getIndexer().byIndex(BY_GATEWAY, id));
            }
        }
        return out;
    }

    /** Deletes the managed objects (from the caches) of the Gateway {@code id} whose "KIND/NS/NAME" is not {@code wanted}. */
    private void deleteUnwanted(String id, Set<String> wanted) {
        for (HasMetadata object : managedObjects(id)) {
            String key = key(object);
            if (wanted.contains(key)) {
                continue;
            }
            try {
                client.resource(object).delete();
                LOG.infof("removed %s: its Gateway is gone or no longer deployed by pilot", key);
            } catch (KubernetesClientException ex) {
                LOG.warnf("removing %s failed (retried at its next event): %s", key, ex.getMessage());
            }
        }
    }

    /**
     * The Gateway ("NS/NAME") a managed object belongs to: its owner reference's (istiod's EnqueueForParentHandler),
     * else its {@code gateway.networking.k8s.io/gateway-name} label's; {@link #NO_GATEWAY} if it names none.
     */
    static String gatewayOf(HasMetadata object) {
        String ns = object.getMetadata().getNamespace();
        List<OwnerReference> owners = object.getMetadata().getOwnerReferences();
        if (owners != null) {
            for (OwnerReference owner : owners) {
                if (Kind.KUBERNETES_GATEWAY.kindName.equals(owner.getKind()) && owner.getApiVersion() != null
                        && owner.getApiVersion().startsWith(Kind.GATEWAY_API + "/")) {
                    return ns + "/" + owner.getName();
                }
            }
        }
        Map<String, String> labels = object.getMetadata().getLabels();
        String name = labels == null ? null : labels.get(PolicyTargetRef.GATEWAY_NAME_LABEL);
        return name == null ? NO_GATEWAY : ns + "/" + name;
    }

    private static String key(HasMetadata object) {
        return object.getKind() + "/" + object.getMetadata().getNamespace() + "/" + object.getMetadata().getName();
    }

    /** Queues the Gateway of a managed object on any event (the one it belonged to as well, if an update moved it). */
    private <T extends HasMetadata> ResourceEventHandler<T> queueItsGateway() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                if (managed(obj)) {
                    queue(gatewayOf(obj));
                }
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                if (managed(oldObj)) {
                    queue(gatewayOf(oldObj));
                }
                onAdd(newObj);
            }

            @Override
            public void onDelete(T obj, boolean unknownFinalState) {
                if (managed(obj)) {
                    deletedSinceApply.add(key(obj));
                    queue(gatewayOf(obj));
                }
            }
        };
    }

    @Override
    public void close() {
        worker.close();
    }
}
