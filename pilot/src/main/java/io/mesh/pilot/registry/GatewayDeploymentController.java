package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mesh.config.ConfigKey;
import io.mesh.config.KubernetesGateway;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * istiod's gateway deployment controller (Kubernetes mode, {@code mesh.pilot.gateway-api.deployment-controller}): for
 * every Gateway that {@link GatewayDeploymentTemplate#managed} says istiod deploys, keeps the ServiceAccount, Service and
 * Deployment of {@link GatewayDeploymentTemplate} applied (server-side apply with force, as istiod's, field manager
 * {@code istio.io-gateway-controller}), and deletes the ones it manages (label {@code gateway.istio.io/managed}) whose Gateway is
 * gone or no longer deployed by it (a cluster also deletes them through their owner reference). Runs after every
 * change of config on its own thread, coalescing requests; an object is applied again only when what it would apply
 * changed or the object is missing. A failed apply is logged and retried at the next change.
 *
 * <p>Thread-safety: {@link #request} may be called from any thread; the work runs on one thread.
 */
final class GatewayDeploymentController implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(GatewayDeploymentController.class);
    /** Server-side apply, forcing conflicts, as the one field manager of what it applies (istiod's controller name). */
    private static final io.fabric8.kubernetes.client.dsl.base.PatchContext APPLY =
            new io.fabric8.kubernetes.client.dsl.base.PatchContext.Builder()
                    .withPatchType(io.fabric8.kubernetes.client.dsl.base.PatchType.SERVER_SIDE_APPLY)
                    .withFieldManager("istio.io-gateway-controller").withForce(true).build();
    private static final ResourceDefinitionContext GATEWAYS = new ResourceDefinitionContext.Builder()
            .withGroup("gateway.networking.k8s.io").withVersion("v1").withKind("Gateway").withPlural("gateways")
            .withNamespaced(true).build();

    private final KubernetesClient client;
    private final ConfigStore store;
    private final GatewayDeploymentTemplate.Settings settings;
    private final CoalescingWorker worker = new CoalescingWorker("pilot-gateway-deployments", this::run);
    /** Set once the config is synced: before that, the Gateways not yet read would look deleted. */
    private volatile boolean started;
    /** What was last applied, by "KIND/NS/NAME". */
    private final Map<String, String> applied = new HashMap<>();

    GatewayDeploymentController(KubernetesClient client, ConfigStore store, GatewayDeploymentTemplate.Settings settings) {
        this.client = client;
        this.store = store;
        this.settings = settings;
    }

    /** Starts reconciling, once the watches have synced; requests before this are dropped. */
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

    private void run() {
        Set<String> wanted = new HashSet<>();
        for (Map.Entry<ConfigKey, Object> e : store.accepted().entrySet()) {
            if (!(e.getValue() instanceof KubernetesGateway gateway) || !GatewayDeploymentTemplate.managed(gateway)) {
                continue;
            }
            wanted.add(gateway.namespace() + "/" + GatewayDeploymentTemplate.name(gateway));
            try {
                apply(gateway);
            } catch (KubernetesClientException | IllegalStateException ex) {
                LOG.warnf("deploying Gateway %s/%s failed (retried at the next change): %s", gateway.namespace(),
                        gateway.name(), ex.getCause() == null ? ex.getMessage() : ex.getMessage() + ": " + ex.getCause());
            }
        }
        try {
            deleteUnwanted(wanted);
        } catch (KubernetesClientException ex) {
            LOG.warnf("removing deployments of deleted Gateways failed (retried at the next change): %s", ex.getMessage());
        }
    }

    private void apply(KubernetesGateway gateway) {
        GenericKubernetesResource live = client.genericKubernetesResources(GATEWAYS).inNamespace(gateway.namespace())
                .withName(gateway.name()).get();
        if (live == null) {
            return;   // deleted since the snapshot; the next change removes what it had
        }
        Map<String, String> annotations = live.getMetadata().getAnnotations() == null ? Map.of()
                : live.getMetadata().getAnnotations();
        for (HasMetadata object : GatewayDeploymentTemplate.render(gateway, live.getMetadata().getUid(), annotations,
                settings)) {
            String key = object.getKind() + "/" + gateway.namespace() + "/" + object.getMetadata().getName();
            String yaml = Serialization.asYaml(object);
            if (yaml.equals(applied.get(key)) && client.resource(object).get() != null) {
                continue;
            }
            client.resource(object).patch(APPLY);
            applied.put(key, yaml);
            LOG.infof("deployed %s %s/%s for Gateway %s", object.getKind(), gateway.namespace(),
                    object.getMetadata().getName(), gateway.name());
        }
    }

    /** Deletes the managed objects whose "NS/NAME" is not {@code wanted}. */
    private void deleteUnwanted(Set<String> wanted) {
        String managed = GatewayDeploymentTemplate.MANAGED_LABEL;
        List<? extends HasMetadata> objects = java.util.stream.Stream.of(
                client.apps().deployments().inAnyNamespace().withLabel(managed, GatewayDeploymentTemplate.MANAGED_VALUE)
                        .list().getItems(),
                client.services().inAnyNamespace().withLabel(managed, GatewayDeploymentTemplate.MANAGED_VALUE).list()
                        .getItems(),
                client.serviceAccounts().inAnyNamespace().withLabel(managed, GatewayDeploymentTemplate.MANAGED_VALUE)
                        .list().getItems())
                .flatMap(List::stream).toList();
        for (HasMetadata object : objects) {
            String id = object.getMetadata().getNamespace() + "/" + object.getMetadata().getName();
            if (!wanted.contains(id)) {
                client.resource(object).delete();
                applied.remove(object.getKind() + "/" + id);
                LOG.infof("removed %s %s: its Gateway is gone or no longer deployed by pilot", object.getKind(), id);
            }
        }
    }

    @Override
    public void close() {
        worker.close();
    }
}
