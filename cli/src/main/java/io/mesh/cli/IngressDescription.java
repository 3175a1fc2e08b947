package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.mesh.config.Kind;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The ingress part of {@code meshctl x describe}, as istioctl's {@code printIngressInfo}: for each running ingress
 * gateway pod ({@code istio=ingressgateway}), the VirtualServices its proxy was given for the described Services' ports
 * (pilot's config dump for it), and for each of their Gateways that selects those pods, where the service is exposed
 * ("Exposed on Ingress Gateway http://IP") and what the VirtualService routes there.
 */
final class IngressDescription {

    /** An ingress gateway Service and its running pods. */
    record Ingress(Service service, List<Pod> pods) {
        /** The load balancer's IP, else the first pod's node IP, else "unknown" (as istioctl's getIngressIP). */
        String ip() {
            List<LoadBalancerIngress> lb = service.getStatus() == null || service.getStatus().getLoadBalancer() == null
                    ? List.of() : service.getStatus().getLoadBalancer().getIngress();
            if (!lb.isEmpty() && lb.get(0).getIp() != null) {
                return lb.get(0).getIp();
            }
            String host = pods.get(0).getStatus().getHostIP();
            return host == null || host.isEmpty() ? "unknown" : host;
        }
    }

    /**
     * The Istio resources the ingress proxies name, each read from the cluster once per description (every ingress
     * pod's proxy names the same ones, for every port): null when it is not there.
     */
    private static final class Resources {
        private final KubernetesClient client;
        private final Map<String, JsonNode> read = new java.util.HashMap<>();

        Resources(KubernetesClient client) {
            this.client = client;
        }

        JsonNode get(Kind kind, String namespace, String name) {
            JsonNode r = read.computeIfAbsent(kind + "/" + namespace + "/" + name, k -> {
                JsonNode found = DescribeCommand.get(client, kind, namespace, name);
                return found == null ? com.fasterxml.jackson.databind.node.NullNode.getInstance() : found;
            });
            return r.isNull() ? null : r;
        }
    }

    private IngressDescription() {
    }

    static void print(KubernetesClient client, MonitoringApi pilot, List<Service> services, List<Map<String, String>> pods,
            String describing, PrintWriter out) throws MonitoringApi.Unreachable, InterruptedException {
        List<Pod> ingressPods = client.pods().inAnyNamespace().withLabel("istio", "ingressgateway").list().getItems()
                .stream().filter(p -> p.getStatus() != null && "Running".equals(p.getStatus().getPhase())).toList();
        if (ingressPods.isEmpty()) {
            out.println("Skipping Gateway information (no ingress gateway pods)");
            return;
        }
        List<Ingress> ingresses = new ArrayList<>();
        for (String ns : ingressPods.stream().map(p -> p.getMetadata().getNamespace()).distinct().sorted().toList()) {
            for (Service s : client.services().inNamespace(ns).list().getItems()) {
                Map<String, String> selector = s.getSpec().getSelector() == null ? Map.of() : s.getSpec().getSelector();
                List<Pod> selected = ingressPods.stream().filter(p -> p.getMetadata().getNamespace().equals(ns)
                        && PodDescription.labels(p).entrySet().containsAll(selector.entrySet())).toList();
                if (!selected.isEmpty()) {
                    ingresses.add(new Ingress(s, selected));
                }
            }
        }
        if (ingresses.isEmpty()) {
            out.println("Skipping Gateway information (no ingress gateway service)");
        }
        Set<String> gatewaysSeen = new HashSet<>();
        JsonNode syncz = DescribeCommand.syncz(pilot);
        Resources resources = new Resources(client);
        for (Pod ingressPod : ingressPods) {
            JsonNode dump;
            try {
                dump = DescribeCommand.configDump(pilot, syncz, ingressPod.getMetadata().getName() + "." + ingressPod.getMetadata().getNamespace());
            } catch (ProxyNames.NotFound e) {
                out.println("WARNING: ingress gateway pod " + ingressPod.getMetadata().getName() + "." + ingressPod.getMetadata()
                        .getNamespace() + " has no proxy connected to pilot");
                continue;
            }
            for (Service svc : services) {
                String host = svc.getMetadata().getName() + "." + svc.getMetadata().getNamespace() + ".svc.cluster.local";
                for (ServicePort port : svc.getSpec().getPorts()) {
                    describePort(resources, dump, host, port.getPort(), pods, ingresses, gatewaysSeen, describing, out);
                }
            }
        }
    }

    private static void describePort(Resources resources, JsonNode dump, String host, int port,
            List<Map<String, String>> pods, List<Ingress> ingresses, Set<String> gatewaysSeen, String describing,
            PrintWriter out) {
        JsonNode dr = null;
        List<String> matching = List.of();
        List<String> nonMatching = List.of();
        JsonNode cluster = RoutingDescription.cluster(dump, host, port);
        String[] drRef = cluster == null ? null : RoutingDescription.configOf(cluster);
        if (drRef != null) {
            dr = resources.get(Kind.DESTINATION_RULE, drRef[0], drRef[1]);
            if (dr != null) {
                List<List<String>> subsets = RoutingDescription.subsets(dr, pods);
                matching = subsets.get(0);
                nonMatching = subsets.get(1);
            }
        }
        JsonNode route = RoutingDescription.route(dump, host, port);
        String[] vsRef = route == null ? null : RoutingDescription.configOf(route);
        if (vsRef == null) {
            return;
        }
        JsonNode vs = resources.get(Kind.VIRTUAL_SERVICE, vsRef[0], vsRef[1]);
        if (vs == null) {
            out.println("WARNING: Proxy is stale; it references to non-existent virtual service " + vsRef[1] + "." + vsRef[0]);
            return;
        }
        for (JsonNode g : vs.path("spec").path("gateways")) {
            String name = g.asText();
            if (name.isEmpty() || name.equals("mesh")) {
                continue;
            }
            String ns = vsRef[0];
            int slash = name.indexOf('/');
            if (slash > 0) {
                ns = name.substring(0, slash);
                name = name.substring(slash + 1);
            }
            if (!gatewaysSeen.add(ns + "/" + name)) {
                continue;
            }
            JsonNode gateway = resources.get(Kind.GATEWAY, ns, name);
            if (gateway == null) {
                gatewaysSeen.remove(ns + "/" + name);
                out.println("WARNING: Proxy is stale; it references to non-existent gateway " + ns + "/" + name);
                continue;
            }
            JsonNode selector = gateway.path("spec").path("selector");
            List<Ingress> exposing = ingresses.stream()
                    .filter(i -> i.pods().stream()
                            .anyMatch(p -> RoutingDescription.selects(selector, PodDescription.labels(p))))
                    .sorted(Comparator.comparing(Ingress::ip)).toList();
            if (exposing.isEmpty()) {
                continue;
            }
            out.println(PodDescription.SEPARATOR);
            exposing.forEach(i -> exposed(i, out));
            RoutingDescription.printVirtualService(vs, host, matching, nonMatching, dr, describing, "", out);
        }
    }

    /** istioctl's printIngressService: the ingress Service's http and http2 ports, as URLs. */
    private static void exposed(Ingress ingress, PrintWriter out) {
        for (ServicePort p : ingress.service().getSpec().getPorts()) {
            if ((p.getProtocol() != null && !p.getProtocol().equals("TCP"))
                    || !("http".equals(p.getName()) || "http2".equals(p.getName()))) {
                continue;
            }
            out.println("Exposed on Ingress Gateway http://" + ingress.ip() + (p.getPort() == 80 ? "" : ":" + p.getPort()));
        }
    }
}
