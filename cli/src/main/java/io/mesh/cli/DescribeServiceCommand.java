package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintWriter;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshctl x describe service}, as {@code istioctl x describe service}: the Service's pods that run with a ready
 * proxy, and its DestinationRule, VirtualService and RBAC policies as the first such pod's proxy was given them, the
 * subsets matched against all of them. Kubernetes only.
 */
@Command(name = "service", aliases = "svc", mixinStandardHelpOptions = true,
        description = "Describe a Service and the Istio configuration that affects it (Kubernetes only).",
        footer = {"", "SERVICE is name or name.namespace; -n gives the namespace (default: default).",
                "The config is what pilot gave the proxy of the Service's first running pod with a",
                "  ready istio-proxy (pilot's /debug/config_dump), read back from the cluster.",
                "Exit codes: 0 described (or the Service has no meshed pods), 1 the Service, pilot or",
                "  the proxy cannot be found, 2 usage error.",
                "Examples:",
                "  meshctl x describe service reviews.bookinfo",
                "  meshctl x describe svc productpage -n bookinfo"})
class DescribeServiceCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SERVICE")
    String service;

    @Option(names = {"-n", "--namespace"}, description = "The Service's namespace")
    String namespace;

    @Option(names = "--pilot", description = "pilot's monitoring URL, e.g. http://127.0.0.1:15014")
    URI pilot;

    @Mixin
    MeshTarget target;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        DescribeCommand.Named named = DescribeCommand.Named.of(service, namespace);
        String name = named.name();
        String ns = named.namespace();
        try (MeshTarget.Mesh mesh = target.open()) {
            KubernetesClient client = DescribeCommand.cluster(mesh, err);
            if (client == null) {
                return 1;
            }
            Service s = client.services().inNamespace(ns).withName(name).get();
            if (s == null) {
                err.println("services \"" + name + "\" not found in namespace " + ns);
                return 1;
            }
            String kname = PodDescription.kname(name, ns, ns);
            Map<String, String> selector = s.getSpec().getSelector();
            List<Pod> selected = selector == null || selector.isEmpty() ? List.of()
                    : client.pods().inNamespace(ns).withLabels(selector).list().getItems();
            List<Pod> meshed = new ArrayList<>();
            for (Pod p : selected) {
                String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
                if (!"Running".equals(phase)) {
                    out.println("   Pod is not Running (" + (phase == null ? "Unknown" : phase) + ")");
                    continue;
                }
                String podName = PodDescription.kname(p.getMetadata().getName(), ns, ns);
                Optional<ContainerStatus> proxy = p.getStatus().getContainerStatuses().stream()
                        .filter(c -> c.getName().equals("istio-proxy")).findFirst();
                if (proxy.isEmpty()) {
                    out.println("Pod " + podName + ": no container \"istio-proxy\" in pod");
                } else if (!Boolean.TRUE.equals(proxy.get().getReady())) {
                    out.println("WARNING: Pod " + podName + " Container istio-proxy NOT READY");
                } else {
                    meshed.add(p);
                }
            }
            if (meshed.isEmpty()) {
                if (selected.isEmpty()) {
                    out.println("Service \"" + kname + "\" has no pods.");
                } else {
                    out.println("Service \"" + kname + "\" has no Istio pods.  (" + selected.size() + " pods in service).");
                    out.println("Use `meshctl kube-inject` or redeploy with Istio automatic sidecar injection.");
                }
                out.flush();
                return 0;
            }
            Pod first = meshed.get(0);
            MonitoringApi api = mesh.component(MeshTarget.Component.PILOT, pilot);
            JsonNode dump = DescribeCommand.configDump(api, first.getMetadata().getName() + "." + ns);
            List<Map<String, String>> labels = meshed.stream().map(PodDescription::labels).toList();
            DescribeCommand.describeServices(client, first, labels, List.of(s), ns, dump, out);
            IngressDescription.print(client, api, List.of(s), labels, ns, out);
            out.flush();
            return 0;
        } catch (MonitoringApi.Unreachable | ProxyNames.NotFound e) {
            out.flush();
            err.println(e.getMessage());
            return 1;
        }
    }
}
