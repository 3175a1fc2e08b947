package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mesh.config.Kind;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshctl x describe pod}, as {@code istioctl x describe pod}: the pod, the Services that select it, and for
 * each service port the DestinationRule and VirtualService that the pod's proxy was given (named by the
 * {@code istio.config} metadata of its clusters and routes in pilot's config dump for that proxy), the RBAC policies
 * on its inbound side, and the PeerAuthentication mode it gets. Kubernetes only.
 */
@Command(name = "pod", aliases = "po", mixinStandardHelpOptions = true,
        description = "Describe a pod and the Istio configuration that affects it (Kubernetes only).",
        footer = {"", "POD is name or name.namespace (split at the last dot, as istioctl); -n gives the",
                "  namespace (default: default).",
                "The DestinationRule and VirtualService are those pilot gave the pod's proxy (its",
                "  /debug/config_dump), read back from the cluster.",
                "Exit codes: 0 described, 1 the pod, pilot or the proxy cannot be found, 2 usage error.",
                "Examples:",
                "  meshctl x describe pod reviews-v1-7d9f8.bookinfo",
                "  meshctl x describe pod ratings-v1-5f9d -n bookinfo"})
class DescribeCommand implements Callable<Integer> {

    static final String ROOT_NAMESPACE = "istio-system";

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "POD")
    String pod;

    @Option(names = {"-n", "--namespace"}, description = "The pod's namespace")
    String namespace;

    @Option(names = "--pilot", description = "pilot's monitoring URL, e.g. http://127.0.0.1:15014")
    URI pilot;

    @Option(names = "--ignoreUnmeshed", description = "Suppress warnings for unmeshed pods")
    boolean ignoreUnmeshed;

    @Mixin
    MeshTarget target;

    /** {@code meshctl experimental describe} (alias x, as istioctl's). */
    @Command(name = "experimental", aliases = "x", mixinStandardHelpOptions = true,
            description = "Experimental commands, as istioctl's.", subcommands = Describe.class)
    static class Experimental {
    }

    @Command(name = "describe", aliases = "des", mixinStandardHelpOptions = true,
            description = "Describe a resource and the Istio configuration that affects it.",
            subcommands = {DescribeCommand.class, DescribeServiceCommand.class})
    static class Describe {
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Named named = Named.of(pod, namespace);
        String name = named.name();
        String ns = named.namespace();
        try (MeshTarget.Mesh mesh = target.open()) {
            KubernetesClient client = cluster(mesh, err);
            if (client == null) {
                return 1;
            }
            Pod p = client.pods().inNamespace(ns).withName(name).get();
            if (p == null) {
                err.println("pods \"" + name + "\" not found in namespace " + ns);
                return 1;
            }
            boolean meshed = PodDescription.printPod(p, ns, out);
            List<Service> services = client.services().inNamespace(ns).list().getItems().stream()
                    .filter(s -> PodDescription.selects(s, p)).toList();
            if (services.isEmpty() && !ignoreUnmeshed) {
                out.println("Warning: No Kubernetes Services select pod " + PodDescription.kname(name, ns, ns)
                        + " (see https://istio.io/latest/docs/ops/deployment/application-requirements/ )");
            }
            if (!meshed) {
                out.flush();
                return 0;
            }
            MonitoringApi api = mesh.component(MeshTarget.Component.PILOT, pilot);
            JsonNode dump = configDump(api, name + "." + ns);
            out.println(PodDescription.SEPARATOR);
            describeServices(client, p, List.of(PodDescription.labels(p)), services, ns, dump, out);
            out.println(PodDescription.SEPARATOR);
            List<JsonNode> policies = new ArrayList<>(list(client, Kind.PEER_AUTHENTICATION, ROOT_NAMESPACE));
            if (!ns.equals(ROOT_NAMESPACE)) {
                policies.addAll(list(client, Kind.PEER_AUTHENTICATION, ns));
            }
            PeerAuthnDescription.print(PeerAuthnDescription.models(policies), ROOT_NAMESPACE, ns, PodDescription.labels(p), out);
            IngressDescription.print(client, api, services, List.of(PodDescription.labels(p)), ns, out);
            out.flush();
            return 0;
        } catch (MonitoringApi.Unreachable | ProxyNames.NotFound e) {
            out.flush();
            err.println(e.getMessage());
            return 1;
        }
    }

    /**
     * istioctl's describePodServices: per Service, per port, the DestinationRule (subsets matched against {@code pods},
     * the labels of every pod described), VirtualService and RBAC policies, from {@code pod}'s proxy's config.
     */
    static void describeServices(KubernetesClient client, Pod pod, List<Map<String, String>> pods, List<Service> services,
            String ns, JsonNode dump, PrintWriter out) {
        for (int i = 0; i < services.size(); i++) {
            Service s = services.get(i);
            if (i > 0) {
                out.println(PodDescription.SEPARATOR);
            }
            PodDescription.printService(s, pod, ns, out);
            String host = s.getMetadata().getName() + "." + s.getMetadata().getNamespace() + ".svc.cluster.local";
            boolean several = s.getSpec().getPorts().size() > 1;
            String indent = several ? "   " : "";
            for (ServicePort port : s.getSpec().getPorts()) {
                if (several) {
                    out.println(port.getPort() + ":");
                }
                JsonNode dr = null;
                List<String> matching = List.of();
                List<String> nonMatching = List.of();
                JsonNode cluster = RoutingDescription.cluster(dump, host, port.getPort());
                String[] drRef = cluster == null ? null : RoutingDescription.configOf(cluster);
                if (drRef != null) {
                    dr = get(client, Kind.DESTINATION_RULE, drRef[0], drRef[1]);
                    if (dr == null) {
                        out.println("WARNING: Proxy is stale; it references to non-existent destination rule " + drRef[1]
                                + "." + drRef[0]);
                    } else {
                        RoutingDescription.printDestinationRule(dr, pods, ns, indent, out);
                        List<List<String>> subsets = RoutingDescription.subsets(dr, pods);
                        matching = subsets.get(0);
                        nonMatching = subsets.get(1);
                    }
                }
                JsonNode route = RoutingDescription.route(dump, host, port.getPort());
                String[] vsRef = route == null ? null : RoutingDescription.configOf(route);
                if (vsRef != null) {
                    JsonNode vs = get(client, Kind.VIRTUAL_SERVICE, vsRef[0], vsRef[1]);
                    if (vs == null) {
                        out.println("WARNING: Proxy is stale; it references to non-existent virtual service " + vsRef[1]
                                + "." + vsRef[0]);
                    } else {
                        RoutingDescription.printVirtualService(vs, host, matching, nonMatching, dr, ns, indent, out);
                    }
                }
            }
            List<String> rbac = PodDescription.rbacPolicies(dump);
            if (!rbac.isEmpty()) {
                out.println("RBAC policies: " + String.join(", ", rbac));
            }
        }
    }

    /** A pod or Service as the user names it: {@code name.namespace} (split at the last dot, as istioctl), or -n. */
    record Named(String name, String namespace) {
        static Named of(String arg, String namespace) {
            int dot = arg.lastIndexOf('.');
            return dot > 0 ? new Named(arg.substring(0, dot), arg.substring(dot + 1))
                    : new Named(arg, namespace == null ? "default" : namespace);
        }
    }

    /** The cluster's client; null, with the reason on {@code err}, for the local mesh (no pods or Services). */
    static KubernetesClient cluster(MeshTarget.Mesh mesh, PrintWriter err) {
        if (mesh.local()) {
            err.println("describe reads pods and Services from a cluster; use --mode kubernetes (the local mesh has none)");
            return null;
        }
        return mesh.client();
    }

    /** pilot's config dump for the proxy of the pod {@code podDotNamespace}. */
    static JsonNode configDump(MonitoringApi pilot, String podDotNamespace)
            throws MonitoringApi.Unreachable, ProxyNames.NotFound, InterruptedException {
        return configDump(pilot, syncz(pilot), podDotNamespace);
    }

    /** The proxies connected to pilot ({@code /debug/syncz}), read once for several {@link #configDump} calls. */
    static JsonNode syncz(MonitoringApi pilot) throws MonitoringApi.Unreachable, InterruptedException {
        return pilot.getArray("/debug/syncz", "a list of proxies");
    }

    /** pilot's config dump for the proxy of the pod {@code podDotNamespace}, among the proxies {@code syncz} lists. */
    static JsonNode configDump(MonitoringApi pilot, JsonNode syncz, String podDotNamespace)
            throws MonitoringApi.Unreachable, ProxyNames.NotFound, InterruptedException {
        String id = ProxyNames.resolve(syncz, podDotNamespace);
        return pilot.getObject("/debug/config_dump?proxyID=" + URLEncoder.encode(id, StandardCharsets.UTF_8), "proxyID",
                "a proxy's config dump");
    }

    private static ResourceDefinitionContext context(Kind kind) {
        return new ResourceDefinitionContext.Builder().withGroup(kind.group).withVersion(kind.kubernetesVersion()).withKind(kind.kindName)
                .withPlural(kind.plural).withNamespaced(true).build();
    }

    /** The resource as JSON, or null when it (or its CRD) is not there. */
    static JsonNode get(KubernetesClient client, Kind kind, String ns, String name) {
        try {
            GenericKubernetesResource r = client.genericKubernetesResources(context(kind)).inNamespace(ns).withName(name).get();
            return r == null ? null : Serialization.jsonMapper().valueToTree(r);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404) {
                return null;
            }
            throw e;
        }
    }

    static List<JsonNode> list(KubernetesClient client, Kind kind, String ns) {
        try {
            return client.genericKubernetesResources(context(kind)).inNamespace(ns).list().getItems().stream()
                    .map(r -> (JsonNode) Serialization.jsonMapper().valueToTree(r)).toList();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404) {
                return List.of();
            }
            throw e;
        }
    }
}
