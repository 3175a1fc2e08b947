package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.APIResourceList;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.mesh.common.concurrent.DaemonThreads;
import io.mesh.config.Kind;
import io.mesh.config.KubernetesGateway;
import io.mesh.pilot.model.GatewayApiStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * istiod's handling of GatewayClasses: the status it writes on those of its controller, and (optionally) the default
 * class it creates.
 *
 * <p>The status istiod writes on the GatewayClasses of its controller ({@code spec.controllerName}
 * {@code istio.io/gateway-controller}, istiod's classInfos; those of other controllers are left alone): an
 * {@code Accepted} condition, True, reason {@code Accepted}, message {@code Handled by Istio controller}, at the class's
 * generation, merged into the status as istiod's GetClassStatus does (kstatus.UpdateConditionIfChanged: the other
 * conditions and fields stay; an Accepted with the same status, message and generation is left as is, one with the same
 * status keeps its lastTransitionTime). Like istiod since the Gateway API moved {@code supportedFeatures} to a list of
 * objects (istio#60452), it writes no {@code supportedFeatures}.
 *
 * <p>Unlike istiod, which serves the Gateways of every class of its controller, pilot serves those of class
 * {@code istio} only ({@link KubernetesGateway#owned}); so another class of istiod's controller gets {@code Accepted}
 * False, reason {@code Invalid} (the Gateway API's: a controller that will not provision Gateways of a class it sees
 * MUST say so), with a message that says why, rather than a True that would promise what pilot does not do.
 *
 * <p>With {@code createDefault} (istiod's {@code PILOT_ENABLE_GATEWAY_API_GATEWAYCLASS_CONTROLLER}, its ClassController)
 * it also creates the GatewayClass {@code istio} (controller {@code istio.io/gateway-controller}, description
 * {@code The default Istio GatewayClass}) whenever its cache has none, at the start and after a delete; like istiod's it
 * never updates an existing one (whoever changed it meant to), and a create that loses a race (409) is no error.
 *
 * <p>It works from an informer on GatewayClasses (cluster-scoped), so a run in which nothing changed makes no API call:
 * it writes only a class whose cached status differs from what it would write. When the API server does not serve
 * GatewayClasses yet (the Gateway API's CRDs not installed), it looks again every {@code recheck}, as
 * {@link IstioKinds} does for its kinds. A failed write is logged and retried at the class's next event.
 *
 * <p>Thread-safety: events and {@link #start} may come from any thread; the work runs on one thread.
 */
final class GatewayClassController implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(GatewayClassController.class);
    static final String MESSAGE = "Handled by Istio controller";
    static final String DESCRIPTION = "The default Istio GatewayClass";
    static final String NOT_SERVED = "pilot serves the Gateways of GatewayClass " + KubernetesGateway.ISTIO_CLASS
            + " only (istiod's built-in class): Gateways of this class are not served";
    private static final String PLURAL = "gatewayclasses";

    private final KubernetesClient client;
    private final Duration recheck;
    private final boolean createDefault;
    private final CoalescingWorker worker = new CoalescingWorker("pilot-gateway-classes", this::run);
    private volatile SharedIndexInformer<GenericKubernetesResource> informer;
    private volatile ResourceDefinitionContext context;
    private ScheduledExecutorService check;
    /** Set by {@link #close}: a recheck running meanwhile must not start an informer nobody would close. */
    private boolean closed;
    /** Completed runs, for tests that wait for one before counting the API calls it made. */
    private volatile long runs;

    /** @param createDefault whether to create the class {@code istio} when it is missing, as istiod's ClassController */
    GatewayClassController(KubernetesClient client, Duration recheck, boolean createDefault) {
        this.client = client;
        this.recheck = recheck;
        this.createDefault = createDefault;
    }

    /** Watches the GatewayClasses now if they are served, else from when they are. */
    synchronized void start() {
        if (watchIfServed()) {
            return;
        }
        LOG.infof("the API server does not serve GatewayClasses (%s) yet: pilot writes their status once it does,"
                + " looking again every %s", Kind.GATEWAY_API, recheck);
        check = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("pilot-gateway-class-check"));
        check.scheduleWithFixedDelay(() -> {
            if (watchIfServed()) {
                check.shutdown();
            }
        }, recheck.toMillis(), recheck.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** How many runs have completed. */
    long runs() {
        return runs;
    }

    /** Whether no run is pending nor running. */
    boolean idle() {
        return worker.idle();
    }

    /** Starts the informer if the API server serves GatewayClasses (v1, else v1beta1); whether it watches them now. */
    private synchronized boolean watchIfServed() {
        if (closed) {
            return true;
        }
        String version = served();
        if (version == null) {
            return false;
        }
        try {
            ResourceDefinitionContext ctx = new ResourceDefinitionContext.Builder().withGroup(Kind.GATEWAY_API)
                    .withVersion(version).withKind("GatewayClass").withPlural(PLURAL).withNamespaced(false).build();
            SharedIndexInformer<GenericKubernetesResource> i = client.genericKubernetesResources(ctx).runnableInformer(0);
            i.addEventHandler(new ResourceEventHandler<>() {
                @Override
                public void onAdd(GenericKubernetesResource obj) {
                    worker.request();
                }

                @Override
                public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
                    worker.request();
                }

                @Override
                public void onDelete(GenericKubernetesResource obj, boolean unknownFinalState) {
                    worker.request();   // the default class deleted: created again
                }
            });
            context = ctx;
            informer = i;
            i.start().toCompletableFuture().join();
            worker.request();
            return true;
        } catch (RuntimeException e) {
            LOG.warnf("watching GatewayClasses failed, trying again in %s: %s", recheck, e.getMessage());
            return false;
        }
    }

    /** The version the API server serves GatewayClasses at, or null; a failure other than 404 counts as served. */
    private String served() {
        for (String version : List.of("v1", "v1beta1")) {
            try {
                APIResourceList list = client.getApiResources(Kind.GATEWAY_API + "/" + version);
                if (list != null && list.getResources() != null
                        && list.getResources().stream().anyMatch(r -> PLURAL.equals(r.getName()))) {
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

    private void run() {
        if (createDefault && informer.getStore().getByKey(KubernetesGateway.ISTIO_CLASS) == null) {
            createDefaultClass();   // its add event asks for the run that writes its status
        }
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        for (GenericKubernetesResource cached : informer.getStore().list()) {
            if (!GatewayApiStatus.CONTROLLER.equals(controllerName(cached))) {
                continue;   // another controller's class
            }
            String name = cached.getMetadata().getName();
            boolean served = KubernetesGateway.ISTIO_CLASS.equals(name);
            Object status = cached.getAdditionalProperties().get("status");
            if (Objects.equals(status, accepted(status, served, cached.getMetadata().getGeneration(), now))) {
                continue;
            }
            try {
                client.genericKubernetesResources(context).withName(name).editStatus(obj -> {
                    obj.getAdditionalProperties().put("status", accepted(obj.getAdditionalProperties().get("status"),
                            served, obj.getMetadata().getGeneration(), now));
                    return obj;
                });
                LOG.debugf("GatewayClass %s: Accepted %s", name, served);
            } catch (KubernetesClientException e) {
                LOG.warnf("writing the status of GatewayClass %s failed (retried at its next change): %s", name,
                        e.getMessage());
            }
        }
        runs++;
    }

    private void createDefaultClass() {
        GenericKubernetesResource gatewayClass = new GenericKubernetesResource();
        gatewayClass.setApiVersion(Kind.GATEWAY_API + "/" + context.getVersion());
        gatewayClass.setKind("GatewayClass");
        gatewayClass.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder()
                .withName(KubernetesGateway.ISTIO_CLASS).build());
        gatewayClass.setAdditionalProperty("spec", Map.of("controllerName", GatewayApiStatus.CONTROLLER,
                "description", DESCRIPTION));
        try {
            client.genericKubernetesResources(context).resource(gatewayClass).create();
            LOG.infof("created GatewayClass %s (%s)", KubernetesGateway.ISTIO_CLASS, DESCRIPTION);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                LOG.debugf("GatewayClass %s was created meanwhile", KubernetesGateway.ISTIO_CLASS);
            } else {
                LOG.warnf("creating GatewayClass %s failed (retried at the next GatewayClass event): %s",
                        KubernetesGateway.ISTIO_CLASS, e.getMessage());
            }
        }
    }

    private static Object controllerName(GenericKubernetesResource gatewayClass) {
        return gatewayClass.getAdditionalProperties().get("spec") instanceof Map<?, ?> spec
                ? spec.get("controllerName") : null;
    }

    /**
     * {@code status} with the Accepted condition (istiod's when {@code served}, else False and Invalid) merged in as
     * kstatus.UpdateConditionIfChanged does: added when absent; left as is when it has the same status, message and
     * observedGeneration; replaced, keeping its lastTransitionTime when only the message or generation differ, else with
     * {@code now}.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> accepted(Object status, boolean served, Long generation, String now) {
        Map<String, Object> out = status instanceof Map<?, ?> m ? new LinkedHashMap<>((Map<String, Object>) m)
                : new LinkedHashMap<>();
        long observed = generation == null ? 0L : generation;
        List<Object> conditions = out.get("conditions") instanceof List<?> l ? new ArrayList<>(l) : new ArrayList<>();
        Map<String, Object> condition = new LinkedHashMap<>();
        condition.put("type", "Accepted");
        condition.put("status", served ? "True" : "False");
        condition.put("observedGeneration", observed);
        condition.put("lastTransitionTime", now);
        condition.put("reason", served ? "Accepted" : "Invalid");
        condition.put("message", served ? MESSAGE : NOT_SERVED);
        int at = -1;
        for (int i = 0; i < conditions.size(); i++) {
            if (conditions.get(i) instanceof Map<?, ?> c && "Accepted".equals(c.get("type"))) {
                at = i;
                break;
            }
        }
        if (at < 0) {
            conditions.add(condition);
        } else {
            Map<?, ?> existing = (Map<?, ?>) conditions.get(at);
            if (condition.get("status").equals(existing.get("status"))) {
                boolean sameGeneration = existing.get("observedGeneration") instanceof Number n && n.longValue() == observed;
                if (condition.get("message").equals(existing.get("message")) && sameGeneration) {
                    return out;   // unchanged (istiod: "Skip update, no changes")
                }
                condition.put("lastTransitionTime", existing.get("lastTransitionTime"));
            }
            conditions.set(at, condition);
        }
        out.put("conditions", conditions);
        return out;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (check != null) {
            check.shutdownNow();
        }
        worker.close();
        if (informer != null) {
            informer.close();
        }
    }
}
