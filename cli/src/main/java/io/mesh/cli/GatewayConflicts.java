package io.mesh.cli;

import io.mesh.config.Gateway;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * istioctl analyze's IST0145 (its gateway.ConflictingGatewayAnalyzer): two Gateways with the same workload selector
 * that each have a TLS server (HTTPS or TLS) on the same port number for the same host. The proxy then has two filter
 * chains for one SNI name, and which certificate and routes a client meets is its choice, not the config's. Reported at
 * each such server, naming the others, as an error. Narrower than istioctl's, which compares any servers with
 * overlapping hosts: HTTP servers on one port are merged into one route table by host (istiod's and pilot's
 * mergeGateways), and an exact SNI name is chosen over a wildcard one, so neither is ambiguous.
 */
final class GatewayConflicts {

    private final List<Gateway> gateways = new ArrayList<>();

    void add(Gateway gateway) {
        gateways.add(gateway);
    }

    /** Reports (severity, "field.path: problem") against {@code gateway}, one of those added. */
    void check(Gateway gateway, BiConsumer<String, String> report) {
        for (int i = 0; i < gateway.servers().size(); i++) {
            Gateway.Server server = gateway.servers().get(i);
            List<String> others = new ArrayList<>();
            for (Gateway other : gateways) {
                if (other == gateway || (other.namespace().equals(gateway.namespace()) && other.name().equals(gateway.name()))
                        || !other.selector().equals(gateway.selector())) {
                    continue;
                }
                boolean conflicts = tls(server) && other.servers().stream().anyMatch(s -> s.port() == server.port() && tls(s)
                        && s.hosts().stream().anyMatch(h -> server.hosts().stream().anyMatch(mine -> sameHost(mine, h))));
                if (conflicts) {
                    others.add(other.namespace() + "/" + other.name());
                }
            }
            if (!others.isEmpty()) {
                report.accept("error", "spec.servers[" + i + "]: conflict with gateways " + String.join(",", others)
                        + " (workload selector " + selector(gateway.selector()) + ", port " + server.port() + ", hosts "
                        + String.join(",", server.hosts()) + ") (IST0145)");
            }
        }
    }

    private static boolean tls(Gateway.Server server) {
        return "HTTPS".equalsIgnoreCase(server.protocol()) || "TLS".equalsIgnoreCase(server.protocol());
    }

    /** Hosts as a server writes them, the same without their namespace part ("ns/", "./", "*&#47;"). */
    private static boolean sameHost(String a, String b) {
        return a.substring(a.indexOf('/') + 1).equalsIgnoreCase(b.substring(b.indexOf('/') + 1));
    }

    private static String selector(Map<String, String> labels) {
        List<String> parts = new ArrayList<>();
        new TreeMap<>(labels).forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(",", parts);
    }
}
