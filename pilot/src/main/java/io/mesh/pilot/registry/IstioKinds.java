package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.APIResourceList;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.mesh.common.concurrent.DaemonThreads;
import io.mesh.config.ConfigKey;
import io.mesh.config.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The informers on Istio's kinds (networking.istio.io/v1, security.istio.io/v1, telemetry.istio.io/v1) and the Gateway API's
 * Gateway, HTTPRoute, GRPCRoute and ReferenceGrant (gateway.networking.k8s.io/v1; ReferenceGrant at v1beta1 where no v1
 * is served), TLSRoute and TCPRoute (v1alpha2), each feeding
 * the {@link ConfigStore}. As in istiod, a kind whose CRD is not installed is skipped with a warning rather than failing
 * pilot's start (a Fabric8 informer whose first list gets a 404 never syncs), and is watched from the moment its CRD
 * appears: the API server's discovery is read again every {@code recheck} until every kind is served.
 *
 * <p>Thread-safety: {@link #informers} and {@link #synced} run on the starting thread; the recheck on its own thread.
 */
final class IstioKinds implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(IstioKinds.class);

    private final KubernetesClient client;
    private final ConfigStore store;
    private final Consumer<String> configChanged;
    private final Duration recheck;
    private final List<SharedIndexInformer<GenericKubernetesResource>> initial = new CopyOnWriteArrayList<>();
    /** Informers of kinds whose CRD came after the start; this class closes them. */
    private final List<SharedIndexInformer<GenericKubernetesResource>> late = new CopyOnWriteArrayList<>();
    private final Set<Kind> missing = ConcurrentHashMap.newKeySet();
    /** Each watched kind's informer (initial or late), whose cache {@link #cached} reads. */
    private final java.util.Map<Kind, SharedIndexInformer<GenericKubernetesResource>> byKind = new ConcurrentHashMap<>();
    /** Who else hears of every event of a kind, store change or not ({@link #alsoNotify}). */
    private final java.util.Map<Kind, List<Consumer<GenericKubernetesResource>>> listeners = new ConcurrentHashMap<>();
    /** The version each watched kind is watched at (one of its {@link Kind#watchVersions}). */
    private final java.util.Map<Kind, String> versions = new ConcurrentHashMap<>();
    private ScheduledExecutorService check;

    IstioKinds(KubernetesClient client, ConfigStore store, Consumer<String> configChanged, Duration recheck) {
        this.client = client;
        this.store = store;
        this.configChanged = configChanged;
        this.recheck = recheck;
    }

    /** Informers (not started) for the kinds the API server serves; the others are remembered as missing. */
    List<SharedIndexInformer<GenericKubernetesResource>> informers() {
        List<SharedIndexInformer<GenericKubernetesResource>> out = new ArrayList<>();
        for (Kind kind : Kind.values()) {
            String version = served(kind);
            if (version != null) {
                out.add(informer(kind, version));
            } else {
                missing.add(kind);
            }
        }
        initial.addAll(out);
        return out;
    }

    /**
     * Once the caller has started {@link #informers} and they have listed everything: the Istio objects they listed
     * go into the store now, so the caller's first snapshot holds all of them. Their handlers run later, on their own
     * thread, and then change nothing (as istiod waits for its handlers to sync). Missing kinds are looked for from now.
     */
    void synced() {
        for (SharedIndexInformer<GenericKubernetesResource> informer : initial) {
            sync(informer);
        }
        if (missing.isEmpty()) {
            return;
        }
        LOG.warnf("the API server does not serve %s: their CRDs are not installed (kubectl apply -f "
                + "deploy/kubernetes/crds; the Gateway API's from its own release, standard-install.yaml), so pilot"
                + " ignores those kinds until they are, and looks again every %s",
                describe(List.copyOf(missing)), recheck);
        check = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("pilot-crd-check"));
        check.scheduleWithFixedDelay(this::watchInstalled, recheck.toMillis(), recheck.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Gives {@code listener} the object of every add, update or delete of {@code kind}, even one that changes nothing
     * pilot serves (a label, say); call before {@link #informers}. It runs on the informer's thread: it must not block.
     */
    void alsoNotify(Kind kind, Consumer<GenericKubernetesResource> listener) {
        listeners.computeIfAbsent(kind, k -> new CopyOnWriteArrayList<>()).add(listener);
    }

    /** The object of {@code kind} as the informer last saw it (all its metadata and spec), or null. */
    GenericKubernetesResource cached(Kind kind, String namespace, String name) {
        SharedIndexInformer<GenericKubernetesResource> informer = byKind.get(kind);
        return informer == null ? null : informer.getStore().getByKey(namespace + "/" + name);
    }

    /** The kinds not watched because the API server does not serve them. */
    Set<Kind> missing() {
        return Set.copyOf(missing);
    }

    private void watchInstalled() {
        for (Kind kind : List.copyOf(missing)) {
            try {
                String version = served(kind);
                if (version == null) {
                    continue;
                }
                SharedIndexInformer<GenericKubernetesResource> informer = informer(kind, version);
                late.add(informer);
                informer.start().toCompletableFuture().join();
                missing.remove(kind);
                if (sync(informer)) {
                    configChanged.accept("config");
                }
                LOG.infof("the CRD of %s is installed now: watching it", describe(List.of(kind)));
            } catch (RuntimeException e) {
                LOG.warnf("watching %s failed, trying again in %s: %s", describe(List.of(kind)), recheck,
                        e.getMessage());
            }
        }
        if (missing.isEmpty()) {
            check.shutdown();
        }
    }

    /** Puts what a started informer listed into the store; true when that changed the accepted config. */
    private boolean sync(SharedIndexInformer<GenericKubernetesResource> informer) {
        boolean changed = false;
        for (GenericKubernetesResource obj : informer.getStore().list()) {
            changed |= store.upsert(KubernetesRegistry.raw(obj));
        }
        return changed;
    }

    /**
     * The first of the kind's {@link Kind#watchVersions} the API server serves it at (its discovery document lists the
     * resource), or null. Only a 404 means no; any other failure counts as served, so that the informer's own error
     * says what is wrong.
     */
    private String served(Kind kind) {
        for (String version : kind.watchVersions()) {
            try {
                APIResourceList list = client.getApiResources(kind.group + "/" + version);
                if (list != null && list.getResources() != null
                        && list.getResources().stream().anyMatch(r -> kind.plural.equals(r.getName()))) {
                    return version;
                }
            } catch (KubernetesClientException e) {
                if (e.getCode() != 404) {
                    return version;
                }
            }
        }
        return null;
    }

    private static String describe(List<Kind> kinds) {
        return String.join(", ", kinds.stream().sorted().map(k -> k.kindName + " (" + k.plural + "." + k.group + "/" + k.kubernetesVersion() + ")")
                .toList());
    }

    /**
     * The version {@code kind} is watched at, which its status is written at too (a cluster whose CRD serves only an
     * older version, such as BackendTLSPolicy's v1alpha3, has no other); {@link Kind#kubernetesVersion} while unwatched.
     */
    String version(Kind kind) {
        return versions.getOrDefault(kind, kind.kubernetesVersion());
    }

    private SharedIndexInformer<GenericKubernetesResource> informer(Kind kind, String version) {
        versions.put(kind, version);
        ResourceDefinitionContext ctx = new ResourceDefinitionContext.Builder().withGroup(kind.group)
                .withVersion(version).withKind(kind.kindName).withPlural(kind.plural).withNamespaced(true).build();
        SharedIndexInformer<GenericKubernetesResource> informer = client.genericKubernetesResources(ctx)
                .inAnyNamespace().runnableInformer(0);
        List<Consumer<GenericKubernetesResource>> also = listeners.getOrDefault(kind, List.of());
        informer.addEventHandler(new ResourceEventHandler<GenericKubernetesResource>() {
            @Override
            public void onAdd(GenericKubernetesResource obj) {
                if (store.upsert(KubernetesRegistry.raw(obj))) {
                    configChanged.accept("config");
                }
                also.forEach(l -> l.accept(obj));
            }

            @Override
            public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
                onAdd(newObj);
            }

            @Override
            public void onDelete(GenericKubernetesResource obj, boolean unknownFinalState) {
                // The key as the store has it (a Gateway API kind's name carries its group).
                if (store.delete(new ConfigKey(Kind.keyName(obj.getApiVersion(), obj.getKind()),
                        obj.getMetadata().getNamespace(), obj.getMetadata().getName()))) {
                    configChanged.accept("config");
                }
                also.forEach(l -> l.accept(obj));
            }
        });
        byKind.put(kind, informer);
        return informer;
    }

    /** Stops the recheck and the informers started after {@link #synced} (the caller closes the ones it started). */
    @Override
    public void close() {
        if (check != null) {
            check.shutdownNow();
        }
        late.forEach(SharedIndexInformer::close);
    }
}
