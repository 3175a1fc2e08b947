package io.mesh.pilot.registry;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.mesh.config.Kind;
import io.mesh.config.KubernetesGateway;
import io.mesh.pilot.model.GatewayApiBackendTls;
import io.mesh.pilot.model.GatewayApiStatus;
import io.mesh.pilot.model.GatewayApiTranslation;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Writes the status istiod writes on Gateway API objects (Kubernetes mode: Gateways, routes' parents, BackendTLSPolicies'
 * ancestors), and a Gateway's {@code status.addresses} ({@link GatewayStatusAddresses}, from the Services that serve
 * it): after a change of config, Services or
 * Secrets, on its own thread, coalescing requests; each object's status is written only when what pilot would say
 * changed (a condition keeps its lastTransitionTime while its status stays). A failed write is logged and retried at the
 * next change. Writing a status changes no config pilot serves, so it triggers no push.
 *
 * <p>Thread-safety: {@link #request} may be called from any thread; the work runs on one thread.
 */
final class GatewayApiStatusWriter implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(GatewayApiStatusWriter.class);

    private final KubernetesClient client;
    private final ConfigStore store;
    private final KubernetesRegistry registry;
    private final CoalescingWorker worker = new CoalescingWorker("pilot-gateway-api-status", this::run);
    /** What was last written, by "KIND/NS/NAME" (conditions without times). */
    private final Map<String, Object> written = new HashMap<>();

    GatewayApiStatusWriter(KubernetesClient client, ConfigStore store, KubernetesRegistry registry) {
        this.client = client;
        this.store = store;
        this.registry = registry;
    }

    /** Asks for the statuses to be brought up to date (soon, once for any number of requests meanwhile). */
    void request() {
        worker.request();
    }

    private void run() {
        try {
            // Read once per run: the config, the services and the credentials (Secrets and CA ConfigMaps decoded).
            Map<io.mesh.config.ConfigKey, Object> config = store.accepted();
            io.mesh.pilot.model.ServiceSource.View view = registry.view();
            Map<String, io.mesh.pilot.model.TlsCredential> credentials = registry.credentials();
            GatewayApiStatus.Result result = GatewayApiTranslation.status(config, view, credentials);
            Map<String, KubernetesGateway> gateways = new HashMap<>();
            config.values().forEach(v -> {
                if (v instanceof KubernetesGateway gw) {
                    gateways.put(gw.namespace() + "/" + gw.name(), gw);
                }
            });
            for (GatewayApiStatus.GatewayStatus g : result.gateways()) {
                Map<String, Object> s = new LinkedHashMap<>();
                KubernetesGateway gateway = gateways.get(g.namespace() + "/" + g.name());
                List<Map<String, String>> addresses = gateway == null ? List.of()
                        : GatewayStatusAddresses.of(gateway, registry::service);
                if (!addresses.isEmpty()) {
                    s.put("addresses", addresses);
                }
                s.put("conditions", conditions(g.conditions()));
                List<Object> listeners = new ArrayList<>();
                for (GatewayApiStatus.ListenerStatus l : g.listeners()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("name", l.name());
                    m.put("attachedRoutes", l.attachedRoutes());
                    m.put("supportedKinds", l.supportedKinds().stream()
                            .map(k -> Map.of("group", Kind.GATEWAY_API, "kind", k)).toList());
                    m.put("conditions", conditions(l.conditions()));
                    listeners.add(m);
                }
                s.put("listeners", listeners);
                write(Kind.KUBERNETES_GATEWAY, g.namespace(), g.name(), s);
            }
            for (GatewayApiStatus.RouteStatus r : result.routes()) {
                List<Object> parents = new ArrayList<>();
                for (GatewayApiStatus.ParentStatus p : r.parents()) {
                    Map<String, Object> ref = new LinkedHashMap<>();
                    ref.put("group", p.parentRef().group());
                    ref.put("kind", p.parentRef().kind());
                    ref.put("name", p.parentRef().name());
                    ref.put("namespace", p.namespace());
                    if (p.parentRef().sectionName() != null) {
                        ref.put("sectionName", p.parentRef().sectionName());
                    }
                    if (p.parentRef().port() != null) {
                        ref.put("port", p.parentRef().port());
                    }
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("parentRef", ref);
                    m.put("controllerName", GatewayApiStatus.CONTROLLER);
                    m.put("conditions", conditions(p.conditions()));
                    parents.add(m);
                }
                write(Kind.of(Kind.GATEWAY_API + "/", r.kind()).orElseThrow(), r.namespace(), r.name(),
                        Map.of("parents", parents));
            }
            for (GatewayApiBackendTls.PolicyStatus p : result.policies()) {
                List<Object> ancestors = new ArrayList<>();
                for (GatewayApiBackendTls.Ancestor a : p.ancestors()) {
                    Map<String, Object> ref = new LinkedHashMap<>();
                    ref.put("group", a.group());
                    ref.put("kind", a.kind());
                    ref.put("name", a.name());
                    ref.put("namespace", a.namespace());
                    if (a.sectionName() != null) {
                        ref.put("sectionName", a.sectionName());
                    }
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("ancestorRef", ref);
                    m.put("controllerName", a.controller());
                    m.put("conditions", conditions(a.conditions()));
                    ancestors.add(m);
                }
                write(Kind.BACKEND_TLS_POLICY, p.namespace(), p.name(), Map.of("ancestors", ancestors));
            }
        } catch (RuntimeException e) {
            LOG.warnf("computing Gateway API status failed: %s", e.toString());
        }
    }

    private static List<Object> conditions(List<GatewayApiStatus.Condition> conditions) {
        List<Object> out = new ArrayList<>();
        for (GatewayApiStatus.Condition c : conditions) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", c.type());
            m.put("status", c.status());
            m.put("reason", c.reason());
            m.put("message", c.message() == null ? "" : c.message());
            out.add(m);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private void write(Kind kind, String namespace, String name, Map<String, Object> status) {
        String key = kind.kindName + "/" + namespace + "/" + name;
        if (status.equals(written.get(key))) {
            return;
        }
        ResourceDefinitionContext ctx = new ResourceDefinitionContext.Builder().withGroup(kind.group).withVersion(registry.version(kind))
                .withKind(kind.kindName).withPlural(kind.plural).withNamespaced(true).build();
        String now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        try {
            client.genericKubernetesResources(ctx).inNamespace(namespace).withName(name).editStatus(obj -> {
                Long generation = obj.getMetadata().getGeneration();
                Object old = obj.getAdditionalProperties().get("status");
                Object stamped = stamped(status, ours(old, false), generation, now);
                // Another controller's route parents and policy ancestors stay, ahead of pilot's (istiod keeps them).
                ours(old, true).forEach((field, others) -> ((List<Object>) ((Map<String, Object>) stamped)
                        .computeIfAbsent(field, f -> new ArrayList<>())).addAll(0, (List<Object>) others));
                // A Gateway's address, once reported, stays until another replaces it (istiod's rule).
                if (kind == Kind.KUBERNETES_GATEWAY && !status.containsKey("addresses")
                        && old instanceof Map<?, ?> o && o.get("addresses") != null) {
                    ((Map<String, Object>) stamped).put("addresses", o.get("addresses"));
                }
                obj.getAdditionalProperties().put("status", stamped);
                return obj;
            });
            written.put(key, status);
        } catch (KubernetesClientException e) {
            LOG.debugf("writing the status of %s failed (%s); retried at the next change", key, e.getMessage());
        }
    }

    /** The controllers whose entries of a route's {@code parents} and a policy's {@code ancestors} pilot writes. */
    private static final java.util.Set<String> CONTROLLERS = java.util.Set.of(GatewayApiStatus.CONTROLLER,
            GatewayApiBackendTls.MESH_CONTROLLER);

    /**
     * Of an object's status, the entries of {@code parents} and {@code ancestors} that are pilot's ({@code others}
     * false: the status with only those, to stamp times against) or another controller's ({@code others} true: by
     * field, the entries to keep).
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> ours(Object status, boolean others) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (!(status instanceof Map<?, ?> m)) {
            return out;
        }
        if (!others) {
            out.putAll((Map<String, Object>) m);
        }
        for (String field : List.of("parents", "ancestors")) {
            if (m.get(field) instanceof List<?> entries) {
                List<Object> kept = new ArrayList<>();
                for (Object e : entries) {
                    boolean pilots = e instanceof Map<?, ?> em && CONTROLLERS.contains(em.get("controllerName"));
                    if (pilots != others) {
                        kept.add(e);
                    }
                }
                if (!others || !kept.isEmpty()) {
                    out.put(field, kept);
                }
            }
        }
        return out;
    }

    /**
     * The status with each condition's observedGeneration and lastTransitionTime: kept from the object's status when
     * the same condition (by type, at the same place) has the same status, else now.
     */
    @SuppressWarnings("unchecked")
    static Object stamped(Object status, Object old, Long generation, String now) {
        if (status instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            Map<String, Object> before = old instanceof Map<?, ?> o ? (Map<String, Object>) o : Map.of();
            m.forEach((k, v) -> out.put((String) k, stamped(v, before.get(k), generation, now)));
            if (out.containsKey("type") && out.containsKey("status") && out.containsKey("reason")) {
                out.put("observedGeneration", generation == null ? 0L : generation);
                boolean same = out.get("status").equals(before.get("status"))
                        && out.get("type").equals(before.get("type")) && before.get("lastTransitionTime") != null;
                out.put("lastTransitionTime", same ? before.get("lastTransitionTime") : now);
            }
            return out;
        }
        if (status instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            List<Object> before = old instanceof List<?> o ? (List<Object>) o : List.of();
            for (int i = 0; i < l.size(); i++) {
                out.add(stamped(l.get(i), i < before.size() ? before.get(i) : null, generation, now));
            }
            return out;
        }
        return status;
    }

    @Override
    public void close() {
        worker.close();
    }
}
