package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.mesh.config.Hosts;
import io.mesh.config.VirtualService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * istioctl analyze's port checks, against the Services and ServiceEntries in the analyzed files:
 * <ul>
 * <li>a route destination without a port to a service with several ports (IST0112, an error as in istioctl: which
 * port is meant is then left to the listener the route is on), and one with a port the service does not have
 * (IST0101 {@code host:port}, an error), as its virtualservice.DestinationHostAnalyzer; hosts not in the files are
 * reported elsewhere;</li>
 * <li>a Service port whose name follows no protocol of Istio's naming convention and that has no
 * {@code appProtocol} (IST0118, an info as in istioctl): pilot serves such a port as plain TCP, with no
 * HTTP routing, retries or HTTP metrics.</li>
 * </ul>
 */
final class ServicePorts {

    /** Istio's port-name protocols: the name is the protocol, or starts with it and a dash. */
    private static final Set<String> PROTOCOLS = Set.of("grpc", "grpc-web", "http", "http2", "https", "mongo", "mysql",
            "redis", "tcp", "tls", "udp");

    /**
     * Each service's hostname with its port numbers; an empty list for a host that resources in the files define with
     * different ports (fixtures of unrelated setups analyzed together, or a Service and a ServiceEntry merged): its
     * ports are then not checked.
     */
    private final Map<String, List<Integer>> ports = new HashMap<>();

    void service(String host, List<Integer> numbers) {
        List<Integer> before = ports.putIfAbsent(host, List.copyOf(numbers));
        if (before != null && !before.equals(numbers)) {
            ports.put(host, List.of());
        }
    }

    boolean known(String host) {
        return ports.containsKey(host);
    }

    /**
     * Reports (severity, "field.path: problem") for a Kubernetes Service's ports (its {@code spec.ports}): IST0118 for
     * each TCP port whose name follows no protocol and that has no appProtocol. Services in kube-system and
     * istio-system are not looked at, as istioctl's.
     */
    static void portNames(String namespace, JsonNode spec, BiConsumer<String, String> report) {
        if (namespace.equals("kube-system") || namespace.equals("istio-system")) {
            return;
        }
        JsonNode list = spec.path("ports");
        for (int i = 0; i < list.size(); i++) {
            JsonNode port = list.get(i);
            if (!port.path("appProtocol").asText("").isEmpty() || port.path("protocol").asText("TCP").equalsIgnoreCase("UDP")) {
                continue;
            }
            String name = port.path("name").asText("");
            if (!follows(name)) {
                report.accept("info", "spec.ports[" + i + "]" + (name.isEmpty() ? "" : ".name") + ": port name \"" + name
                        + "\" (port: " + port.path("port").asText() + ", targetPort: " + port.path("targetPort").asText(
                                port.path("port").asText()) + ") doesn't follow the naming convention of Istio port"
                        + " (<protocol>[-<suffix>] with http, http2, https, grpc, grpc-web, tcp, tls, mongo, mysql, redis;"
                        + " or set appProtocol); pilot serves it as plain TCP (IST0118)");
            }
        }
    }

    private static boolean follows(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return PROTOCOLS.stream().anyMatch(p -> lower.equals(p) || lower.startsWith(p + "-"));
    }

    /** IST0112 and IST0101 (host:port) for every route destination of {@code vs} (http, tls, tcp) and http mirror. */
    void destinations(VirtualService vs, BiConsumer<String, String> report) {
        for (int i = 0; i < vs.http().size(); i++) {
            VirtualService.HttpRoute route = vs.http().get(i);
            routes("spec.http[" + i + "]", route.route(), vs, report);
            for (int m = 0; m < route.mirrors().size(); m++) {
                String path = route.mirrors().size() == 1 && m == 0 ? "spec.http[" + i + "].mirror" : "spec.http[" + i
                        + "].mirrors[" + m + "].destination";
                check(path, route.mirrors().get(m).destination(), vs, report);
            }
        }
        for (int i = 0; i < vs.tls().size(); i++) {
            routes("spec.tls[" + i + "]", vs.tls().get(i).route(), vs, report);
        }
        for (int i = 0; i < vs.tcp().size(); i++) {
            routes("spec.tcp[" + i + "]", vs.tcp().get(i).route(), vs, report);
        }
    }

    private void routes(String path, List<VirtualService.RouteDestination> route, VirtualService vs,
            BiConsumer<String, String> report) {
        for (int j = 0; j < route.size(); j++) {
            check(path + ".route[" + j + "].destination", route.get(j).destination(), vs, report);
        }
    }

    private void check(String path, VirtualService.Destination destination, VirtualService vs,
            BiConsumer<String, String> report) {
        if (destination == null) {
            return;
        }
        List<Integer> numbers = ports.get(Hosts.resolve(destination.host(), vs.namespace()));
        if (numbers == null || numbers.isEmpty()) {
            return;
        }
        if (destination.port() == null) {
            if (numbers.size() > 1) {
                report.accept("error", path + ".host: this VirtualService routes to a service \"" + destination.host()
                        + "\" that exposes multiple ports " + new ArrayList<>(numbers) + ". Specifying a port in the"
                        + " destination is required to disambiguate (IST0112)");
            }
        } else if (!numbers.contains(destination.port())) {
            report.accept("error", path + ".port: referenced host:port not found: \"" + destination.host() + ":"
                    + destination.port() + "\" (its ports: " + numbers + ") (IST0101)");
        }
    }
}
