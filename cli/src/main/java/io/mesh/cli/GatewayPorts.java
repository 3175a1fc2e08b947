package io.mesh.cli;

import io.mesh.config.Gateway;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * istioctl analyze's gateway.IngressGatewayPortAnalyzer: IST0162 (GatewayPortNotDefinedOnService, which replaced the
 * retired IST0104 GatewayPortNotOnWorkload), a warning: a Gateway server port that no TCP port of a Service selecting
 * the Gateway's pods leads to, so clients of that Service cannot reach it. As istioctl, a Service port leads to its
 * numeric targetPort, or to its port when the targetPort is unset or named. This mesh's gateway listens on 8080 for a
 * server on port 80 and on 8443 for 443 (its default listener ports) and on the server's port otherwise; either the
 * server's port or that listener port counts, so the Service of deploy/ (80 to 8080) is fine, where istioctl's rule
 * (targetPort only) reports it. And IST0101 (an error) for a Gateway whose selector takes no pod at all, only when the
 * pods are a cluster's (files of Deployments say nothing of which pods run). A Gateway without a selector is skipped.
 */
final class GatewayPorts {

    private GatewayPorts() {
    }

    /** Reports (severity, "field.path: problem") for a Gateway that validated. */
    static void check(Gateway gateway, Workloads workloads, boolean allPodsKnown, BiConsumer<String, String> report) {
        if (gateway.selector().isEmpty()) {
            return;
        }
        String selector = Workloads.selector(gateway.selector());
        List<Workloads.Pod> pods = workloads.selected(null, gateway.selector());
        if (pods.isEmpty()) {
            if (allPodsKnown) {
                report.accept("error", "spec.selector: referenced selector not found: \"" + selector + "\" (no pod on the"
                        + " cluster has these labels) (IST0101)");
            }
            return;
        }
        Set<Integer> reached = new HashSet<>();
        for (Workloads.Pod pod : pods) {
            for (Workloads.Service service : workloads.servicesOf(pod)) {
                service.ports().stream().filter(p -> p.protocol().equalsIgnoreCase("TCP"))
                        .forEach(p -> reached.add(p.targetPort() != null && p.targetPort() != 0 ? p.targetPort() : p.port()));
            }
        }
        for (int i = 0; i < gateway.servers().size(); i++) {
            int port = gateway.servers().get(i).port();
            if (!reached.contains(port) && !reached.contains(listenerPort(port))) {
                report.accept("warning", "spec.servers[" + i + "].port.number: the gateway is listening on a target port"
                        + " (port " + port + ") that is not defined in the Service associated with its workload instances"
                        + " (Pod selector " + selector + "). If you need to access the gateway port through the gateway"
                        + " Service, it will not be available (IST0162)");
            }
        }
    }

    /** Where this mesh's gateway listens for a server port, with its default listener settings. */
    private static int listenerPort(int port) {
        return port == 80 ? 8080 : port == 443 ? 8443 : port;
    }
}
