package io.mesh.pilot.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.mesh.config.ConfigKey;
import io.mesh.config.Hosts;
import io.mesh.config.Kind;
import io.mesh.config.RawResource;
import io.mesh.config.TrafficDistribution;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.ServiceAlias;
import io.mesh.pilot.model.ServiceModel;
import io.mesh.pilot.model.ServiceSource;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Kubernetes mode's registry: Fabric8 informers on Services, EndpointSlices and Pods (services, endpoints, and the
 * workloads ServiceEntries select), Nodes (pods' localities, from their topology labels), Namespaces (their labels, for
 * Gateway API namespace selectors), Secrets (gateway certificates), and on every Istio kind
 * (networking.istio.io/v1, security.istio.io/v1, telemetry.istio.io/v1), which go through the same {@link ConfigStore}
 * validation as local YAML. A rejected resource gets a Warning Event.
 *
 * <p>Thread-safety: informer callbacks run on Fabric8's threads; {@link #view()} reads the informers' caches.
 */
public final class KubernetesRegistry implements ServiceSource, io.mesh.pilot.model.CredentialSource, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KubernetesRegistry.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    static final String EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo";

    private final KubernetesClient client;
    private final String credentialsNamespace;
    private SharedIndexInformer<io.fabric8.kubernetes.api.model.Secret> secrets;
    /** Every namespace's ConfigMaps: a BackendTLSPolicy's CA may be in any. */
    private SharedIndexInformer<io.fabric8.kubernetes.api.model.ConfigMap> configMaps;
    private NamespaceLabels namespaces;
    private volatile ConfigStore store;
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private java.time.Duration crdRecheck = java.time.Duration.ofSeconds(10);
    private IstioKinds istioKinds;
    private GatewayApiStatusWriter statusWriter;
    private GatewayDeploymentTemplate.Settings gatewayDeployments;
    private GatewayDeploymentController deploymentController;
    private GatewayClassController gatewayClasses;
    private boolean createDefaultGatewayClass;
    private SharedIndexInformer<Service> services;
    private SharedIndexInformer<EndpointSlice> slices;
    private SharedIndexInformer<Pod> pods;
    private SharedIndexInformer<Node> nodes;
    /** Unknown traffic-distribution annotations already warned of ("ns/name=value"). */
    private final Set<String> warnedTrafficDistributions = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public KubernetesRegistry(KubernetesClient client) {
        this(client, "istio-system");
    }

    public KubernetesRegistry(KubernetesClient client, String credentialsNamespace) {
        this.client = client;
        this.credentialsNamespace = credentialsNamespace;
    }

    /**
     * Gateway certificates (tls.crt, tls.key, ca.crt of a Secret): an Istio Gateway's credentialName NAME is a Secret
     * in the credentials namespace; a Gateway API Gateway's certificateRef is the Secret it names, in any namespace
     * ({@link GatewayApiSecrets}), as {@code kubernetes-gateway://NAMESPACE/NAME}.
     */
    @Override
    public Map<String, io.mesh.pilot.model.TlsCredential> credentials() {
        Map<String, io.mesh.pilot.model.TlsCredential> out = new HashMap<>();
        if (secrets == null) {
            return out;
        }
        // The informer's namespace index: the cluster's other Secrets are not walked, and are decoded only when a
        // Gateway API Gateway names them.
        for (io.fabric8.kubernetes.api.model.Secret s : secrets.getIndexer()
                .byIndex(io.fabric8.kubernetes.client.informers.cache.Cache.NAMESPACE_INDEX, credentialsNamespace)) {
            io.mesh.pilot.model.TlsCredential c = GatewayApiSecrets.credential(s, s.getMetadata().getName());
            if (c != null) {
                out.put(c.name(), c);
            }
        }
        if (store != null) {
            out.putAll(GatewayApiSecrets.referenced(store, secrets.getStore()));
            out.putAll(BackendTlsConfigMaps.referenced(store.accepted().values(), (ns, name) -> {
                io.fabric8.kubernetes.api.model.ConfigMap cm = configMaps.getStore().getByKey(ns + "/" + name);
                return cm == null ? null : cm.getData() == null ? Map.of() : cm.getData();
            }));
        }
        return out;
    }

    public void start(ConfigStore store, Consumer<String> configInForceChanged,
            Consumer<Set<String>> endpointsChanged) {
        // The Gateway API objects' status follows every change of config, Services or Secrets (istiod's status).
        statusWriter = new GatewayApiStatusWriter(client, store, this);
        // The gateway deployment controller does not follow config changes: its own events say which Gateway to
        // reconcile (below).
        Consumer<String> configChanged = reason -> {
            configInForceChanged.accept(reason);
            statusWriter.request();
        };
        // Every informer exists before any starts: a handler firing during the first sync triggers a push,
        // and the push reads all of them.
        services = client.services().inAnyNamespace().runnableInformer(0);
        services.addEventHandler(handler(s -> configChanged.accept("service")));
        if (gatewayDeployments != null) {
            // It reads the Gateways from their informer's cache (istioKinds is set below, before anything runs), and
            // indexes the Services' informer, which must not have started.
            deploymentController = new GatewayDeploymentController(client, store,
                    (ns, name) -> istioKinds.cached(Kind.KUBERNETES_GATEWAY, ns, name), services,
                    gatewayDeployments);
            informers.addAll(deploymentController.informers());
        }
        slices = client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(0);
        slices.addEventHandler(handler(s -> {
            String svc = s.getMetadata().getLabels() == null ? null
                    : s.getMetadata().getLabels().get(SERVICE_NAME_LABEL);
            if (svc != null) {
                endpointsChanged.accept(Set.of(svc + "." + s.getMetadata().getNamespace() + "." + Hosts.DOMAIN_SUFFIX));
            }
        }));
        pods = client.pods().inAnyNamespace().runnableInformer(0);
        pods.addEventHandler(handler(p -> endpointsChanged.accept(Set.of())));
        // Nodes' topology labels are their pods' localities (endpoints', and proxies' own).
        nodes = client.nodes().runnableInformer(0);
        nodes.addEventHandler(handler(n -> endpointsChanged.accept(Set.of())));
        // Every namespace's Secrets (a Gateway API Gateway's certificate may be in any), but Helm's releases and
        // service account tokens, as istiod's credentials controller; a change pushes when the Secret is a
        // credentialName's or one a Gateway API Gateway names.
        this.store = store;
        secrets = client.secrets().inAnyNamespace().withoutField("type", "helm.sh/release.v1")
                .withoutField("type", "kubernetes.io/service-account-token").runnableInformer(0);
        secrets.addEventHandler(handler(s -> {
            if (s.getMetadata().getNamespace().equals(credentialsNamespace)
                    || GatewayApiSecrets.names(store, s.getMetadata().getNamespace(), s.getMetadata().getName())) {
                configChanged.accept("secret");
            }
        }));
        informers.add(secrets);
        // ConfigMaps of every namespace, as istiod's: a change pushes when a BackendTLSPolicy names it as its CA.
        configMaps = client.configMaps().inAnyNamespace().runnableInformer(0);
        configMaps.addEventHandler(handler(cm -> {
            if (BackendTlsConfigMaps.names(store.accepted().values(), cm.getMetadata().getNamespace(),
                    cm.getMetadata().getName())) {
                configChanged.accept("configmap");
            }
        }));
        informers.add(configMaps);
        // Namespaces' labels, which Gateway API listeners' namespace selectors select.
        namespaces = new NamespaceLabels(client, store, configChanged);
        informers.add(namespaces.informer());
        informers.add(services);
        informers.add(slices);
        informers.add(pods);
        informers.add(nodes);
        istioKinds = new IstioKinds(client, store, configChanged, crdRecheck);
        if (deploymentController != null) {
            // Each event of a Gateway reconciles it (its labels are its deployment's too, and change nothing else
            // pilot serves).
            istioKinds.alsoNotify(Kind.KUBERNETES_GATEWAY, deploymentController::gatewayChanged);
        }
        List<SharedIndexInformer<GenericKubernetesResource>> istio = istioKinds.informers();
        informers.addAll(istio);
        List<java.util.concurrent.CompletableFuture<Void>> synced = new ArrayList<>();
        for (SharedIndexInformer<?> informer : informers) {
            synced.add(informer.start().toCompletableFuture());
        }
        java.util.concurrent.CompletableFuture.allOf(synced.toArray(java.util.concurrent.CompletableFuture[]::new)).join();
        LOG.infof("watching Kubernetes: Services, EndpointSlices, Pods, Nodes, Namespaces, Secrets, ConfigMaps and %d Istio kinds",
                istio.size());
        istioKinds.synced();
        statusWriter.request();
        // The GatewayClasses of istiod's controller get its Accepted status, and the default one is made (once their CRD
        // is served).
        gatewayClasses = new GatewayClassController(client, crdRecheck, createDefaultGatewayClass);
        gatewayClasses.start();
        if (deploymentController != null) {
            deploymentController.start();
        }
    }

    /**
     * Deploys a gateway for each Gateway API Gateway of class istio without addresses, as istiod's deployment controller
     * ({@link GatewayDeploymentController}); off unless called (before {@link #start}).
     */
    public KubernetesRegistry withGatewayDeployments(String image, String xdsAddress) {
        this.gatewayDeployments = new GatewayDeploymentTemplate.Settings(image, xdsAddress);
        return this;
    }

    /**
     * Creates the GatewayClass {@code istio} whenever it is missing, as istiod's ClassController
     * ({@link GatewayClassController}); off unless called (before {@link #start}).
     */
    public KubernetesRegistry withDefaultGatewayClass() {
        this.createDefaultGatewayClass = true;
        return this;
    }

    /** The Service NAMESPACE/NAME as its informer last saw it, or null (none, or not started). */
    Service service(String namespace, String name) {
        return services == null ? null : services.getStore().getByKey(namespace + "/" + name);
    }

    /** The gateway deployment controller, once started with {@link #withGatewayDeployments}; else null. */
    GatewayDeploymentController deploymentController() {
        return deploymentController;
    }

    /** The version pilot watches {@code kind} at (and writes its status at). */
    String version(Kind kind) {
        return istioKinds == null ? kind.kubernetesVersion() : istioKinds.version(kind);
    }

    /** The Istio kinds not watched because the API server does not serve them (their CRD is not installed). */
    public Set<Kind> missingKinds() {
        return istioKinds == null ? Set.of() : istioKinds.missing();
    }

    /**
     * How often kinds whose CRD was missing at start are looked for again (default 10 s); call before {@link #start}.
     */
    public KubernetesRegistry withCrdRecheck(java.time.Duration every) {
        this.crdRecheck = every;
        return this;
    }

    static RawResource raw(GenericKubernetesResource obj) {
        JsonNode spec = JSON.valueToTree(obj.getAdditionalProperties().get("spec"));
        Object status = obj.getAdditionalProperties().get("status");
        return new RawResource(obj.getApiVersion(), obj.getKind(), obj.getMetadata().getNamespace(),
                obj.getMetadata().getName(), spec, "kubernetes", RawResource.timestamp(obj.getMetadata().getCreationTimestamp()),
                obj.getMetadata().getAnnotations(), status == null ? null : JSON.valueToTree(status),
                obj.getMetadata().getLabels());
    }

    private static <T extends HasMetadata> ResourceEventHandler<T> handler(Consumer<T> changed) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                changed.accept(obj);
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                changed.accept(newObj);
            }

            @Override
            public void onDelete(T obj, boolean unknownFinalState) {
                changed.accept(obj);
            }
        };
    }

    @Override
    public View view() {
        if (services == null) {
            return View.EMPTY;
        }
        Map<String, Node> nodesByName = new HashMap<>();
        for (Node n : nodes.getStore().list()) {
            nodesByName.put(n.getMetadata().getName(), n);
        }
        Map<String, Pod> podsByKey = new HashMap<>();
        for (Pod p : pods.getStore().list()) {
            podsByKey.put(p.getMetadata().getNamespace() + "/" + p.getMetadata().getName(), p);
        }
        List<ServiceModel> models = new ArrayList<>();
        List<ServiceAlias> aliases = new ArrayList<>();
        Map<String, Service> byHost = new HashMap<>();
        Map<String, Map<String, String>> selectors = new HashMap<>();
        for (Service s : services.getStore().list()) {
            String host = s.getMetadata().getName() + "." + s.getMetadata().getNamespace() + "." + Hosts.DOMAIN_SUFFIX;
            if (s.getSpec() != null && s.getSpec().getSelector() != null && !s.getSpec().getSelector().isEmpty()) {
                selectors.put(host, s.getSpec().getSelector());
            }
            String externalName = externalName(s);
            if (externalName != null) {
                aliases.add(new ServiceAlias(host, s.getMetadata().getNamespace(), externalName, exportTo(s)));
                continue;
            }
            List<ServiceModel.Port> ports = new ArrayList<>();
            if (s.getSpec() != null && s.getSpec().getPorts() != null) {
                s.getSpec().getPorts().forEach(p -> ports.add(new ServiceModel.Port(
                        p.getName() == null ? "" : p.getName(), p.getPort(), protocol(p.getName(), p.getAppProtocol()))));
            }
            models.add(new ServiceModel(host, s.getMetadata().getNamespace(), ports, false,
                    "Service/" + s.getMetadata().getNamespace() + "/" + s.getMetadata().getName(), clusterIps(s),
                    exportTo(s), headless(s), List.of(), false,
                    io.mesh.pilot.model.PersistentSession.fromLabels(s.getMetadata().getLabels()), trafficDistribution(s)));
            byHost.put(host, s);
        }
        Map<String, List<Endpoint>> endpoints = new HashMap<>();
        for (EndpointSlice slice : slices.getStore().list()) {
            Map<String, String> labels = slice.getMetadata().getLabels();
            String svc = labels == null ? null : labels.get(SERVICE_NAME_LABEL);
            if (svc == null || slice.getEndpoints() == null) {
                continue;
            }
            String ns = slice.getMetadata().getNamespace();
            String host = svc + "." + ns + "." + Hosts.DOMAIN_SUFFIX;
            Service s = byHost.get(host);
            if (s == null || s.getSpec().getPorts() == null) {
                continue;
            }
            Map<Integer, Integer> portMap = new HashMap<>();
            s.getSpec().getPorts().forEach(sp -> {
                if (slice.getPorts() != null) {
                    slice.getPorts().stream().filter(ep -> java.util.Objects.equals(ep.getName() == null ? "" : ep.getName(),
                            sp.getName() == null ? "" : sp.getName())).findFirst()
                            .ifPresent(ep -> portMap.put(sp.getPort(), ep.getPort()));
                }
            });
            for (var e : slice.getEndpoints()) {
                if (e.getAddresses() == null || e.getAddresses().isEmpty()) {
                    continue;
                }
                // Kept whatever its health: its own sidecar serves the Service's ports on its inbound side while it is
                // not ready (istiod's proxy service targets); EDS leaves it out (Endpoint#sentBy).
                Endpoint.Health health = SliceEndpointHealth.of(s.getMetadata().getLabels(), e.getConditions());
                Map<String, String> podLabels = Map.of();
                String sa = null;
                String node = null;
                // istiod's: the pod's locality (its node's topology labels); the slice's zone only without a pod.
                String locality = e.getZone() == null ? "" : "/" + e.getZone();
                if (e.getTargetRef() != null && "Pod".equals(e.getTargetRef().getKind())) {
                    Pod pod = podsByKey.get(ns + "/" + e.getTargetRef().getName());
                    if (pod != null) {
                        podLabels = pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels();
                        // The API server sets "default" when the pod names none.
                        sa = pod.getSpec() == null || pod.getSpec().getServiceAccountName() == null ? "default"
                                : pod.getSpec().getServiceAccountName();
                        locality = PodWorkloads.locality(pod, nodesByName);
                        // istiod's kubernetes.io/hostname endpoint label: the pod's node.
                        node = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
                    }
                }
                endpoints.computeIfAbsent(host, h -> new ArrayList<>()).add(new Endpoint(e.getAddresses().get(0),
                        portMap, podLabels, locality, 1, health, sa, node));
            }
        }
        return new View(models, endpoints, aliases, PodWorkloads.of(podsByKey.values(), nodesByName), selectors,
                namespaces.labels());
    }

    /**
     * An ExternalName Service's target ({@code spec.externalName}, lower case, without a trailing dot); null for any
     * other type. Istio treats such a Service as another name for its target ({@link ServiceAlias}).
     */
    static String externalName(Service s) {
        if (s.getSpec() == null || !"ExternalName".equals(s.getSpec().getType()) || s.getSpec().getExternalName() == null
                || s.getSpec().getExternalName().isBlank()) {
            return null;
        }
        String name = s.getSpec().getExternalName().trim().toLowerCase(Locale.ROOT);
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    /** Istio's protocol selection: appProtocol, else the port name's prefix ("http-web", "grpc"). */
    /**
     * A Service's VIPs: spec.clusterIPs (dual stack), else spec.clusterIP; "None" (headless) and empty give none.
     */
    static List<String> clusterIps(Service s) {
        if (s.getSpec() == null) {
            return List.of();
        }
        List<String> ips = s.getSpec().getClusterIPs() != null && !s.getSpec().getClusterIPs().isEmpty()
                ? s.getSpec().getClusterIPs()
                : s.getSpec().getClusterIP() == null ? List.of() : List.of(s.getSpec().getClusterIP());
        return ips.stream().filter(ip -> ip != null && !ip.isBlank() && !"None".equals(ip)).distinct().toList();
    }

    /** {@code clusterIP: None}: a headless Service (an ExternalName Service, with no cluster IP at all, is not one). */
    static boolean headless(Service s) {
        return s.getSpec() != null && "None".equals(s.getSpec().getClusterIP());
    }

    /**
     * The Service's traffic distribution as istiod's kube conversion reads it (istio/istio
     * {@code pilot/pkg/serviceregistry/kube/conversion.go}): {@code spec.trafficDistribution}, else the
     * {@code networking.istio.io/traffic-distribution} annotation. An annotation value istiod does not know is ignored
     * with a warning (once per Service and value: the view is taken at every push).
     */
    TrafficDistribution trafficDistribution(Service s) {
        Map<String, String> annotations = s.getMetadata().getAnnotations();
        String unknown = TrafficDistribution.unknownAnnotation(annotations);
        if (unknown != null && warnedTrafficDistributions.add(s.getMetadata().getNamespace() + "/"
                + s.getMetadata().getName() + "=" + unknown)) {
            LOG.warnf("Service %s/%s: unknown %s \"%s\" (PreferSameZone, PreferClose or PreferSameNode): ignored",
                    s.getMetadata().getNamespace(), s.getMetadata().getName(), TrafficDistribution.ANNOTATION, unknown);
        }
        return TrafficDistribution.of(s.getSpec() == null ? null : s.getSpec().getTrafficDistribution(), annotations);
    }

    /** The Service's {@code networking.istio.io/exportTo} annotation: comma-separated, as in Istio; none: all. */
    static List<String> exportTo(Service s) {
        Map<String, String> annotations = s.getMetadata().getAnnotations();
        String value = annotations == null ? null : annotations.get(EXPORT_TO_ANNOTATION);
        if (value == null || value.isBlank()) {
            return List.of();
        }
        return java.util.Arrays.stream(value.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
    }

    static String protocol(String name, String appProtocol) {
        String p = appProtocol != null ? appProtocol : name == null ? "" : name.split("-")[0];
        return switch (p.toLowerCase(Locale.ROOT)) {
            case "http", "http2", "grpc", "grpc-web", "https", "tls", "tcp" -> p.toUpperCase(Locale.ROOT);
            case "kubernetes.io/h2c" -> "HTTP2";
            default -> "TCP";
        };
    }

    /** A Warning Event on the rejected object, as Istio's validation reports it. */
    public void recordRejection(RawResource raw, String reason) {
        try {
            String name = raw.name() + "." + Long.toHexString(System.nanoTime());
            client.v1().events().inNamespace(raw.namespace()).resource(new EventBuilder()
                    .withNewMetadata().withName(name).withNamespace(raw.namespace()).endMetadata()
                    .withNewInvolvedObject().withApiVersion(raw.apiVersion()).withKind(raw.kind())
                    .withName(raw.name()).withNamespace(raw.namespace()).endInvolvedObject()
                    .withType("Warning").withReason("Rejected").withMessage(reason)
                    .withReportingComponent("pilot").withFirstTimestamp(Instant.now().toString())
                    .withCount(1).build()).create();
        } catch (RuntimeException e) {
            LOG.debugf("could not record an Event for %s: %s", raw.key(), e.getMessage());
        }
    }

    /** The GatewayClass controller, once started; else null. */
    GatewayClassController gatewayClasses() {
        return gatewayClasses;
    }

    @Override
    public void close() {
        if (gatewayClasses != null) {
            gatewayClasses.close();
        }
        if (deploymentController != null) {
            deploymentController.close();
        }
        if (statusWriter != null) {
            statusWriter.close();
        }
        if (istioKinds != null) {
            istioKinds.close();
        }
        informers.forEach(SharedIndexInformer::close);
    }
}
