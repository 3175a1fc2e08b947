package io.mesh.cli;

import io.mesh.config.Gateway;
import io.mesh.config.VirtualService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * istioctl analyze's checks of the gateways a VirtualService names (its virtualservice.GatewayAnalyzer), against the
 * Gateways in the analyzed files: a gateway that is not there (IST0101, an error), and a Gateway none of whose
 * servers accepts any of the VirtualService's hosts for its namespace (IST0132, a warning). It only reads what it is
 * given; it never decides which Gateways exist beyond those.
 */
final class GatewayReferences {

    /** The reserved name of the sidecars' own "gateway"; never a Gateway resource. */
    private static final String MESH = "mesh";

    /**
     * Each Gateway in the files by "namespace/name", with its servers' hosts as written ("ns/host", "./host",
     * "*&#47;host" or "host"); null for one whose hosts are unknown (it did not validate): it exists, and is not checked.
     */
    private final Map<String, List<String>> serverHosts = new HashMap<>();

    /** Whether the Gateways are a cluster's (all of them), not those of some files. */
    private final boolean cluster;

    GatewayReferences() {
        this(false);
    }

    GatewayReferences(boolean cluster) {
        this.cluster = cluster;
    }

    /** A networking.istio.io Gateway; {@code gateway} is null when it did not validate. */
    void istioGateway(String namespace, String name, Gateway gateway) {
        List<String> hosts = null;
        if (gateway != null) {
            hosts = new ArrayList<>();
            for (Gateway.Server server : gateway.servers()) {
                hosts.addAll(server.hosts());
            }
        }
        serverHosts.put(namespace + "/" + name, hosts);
    }

    /**
     * A Kubernetes Gateway API Gateway, which a VirtualService may name too: its listeners' hostnames (null or "" for a
     * listener without one, which takes every host). They carry no namespace part.
     */
    void kubernetesGateway(String namespace, String name, List<String> listenerHostnames) {
        serverHosts.put(namespace + "/" + name, listenerHostnames.stream()
                .map(h -> h == null || h.isEmpty() ? "*" : h).toList());
    }

    /**
     * Reports (severity, "field.path: problem") for each gateway {@code vs} names: in spec.gateways, IST0101 and IST0132
     * as istioctl does; in a route's match gateways (http, tls and tcp), IST0101 only (istioctl does not look there).
     */
    void check(VirtualService vs, BiConsumer<String, String> report) {
        for (int i = 0; i < vs.gateways().size(); i++) {
            String path = "spec.gateways[" + i + "]";
            String key = resolve(vs.gateways().get(i), vs.namespace());
            if (key == null) {
                continue;
            }
            if (!serverHosts.containsKey(key)) {
                report.accept("error", notFound(path, vs.gateways().get(i), key));
                continue;
            }
            List<String> hosts = serverHosts.get(key);
            if (hosts != null && !acceptsAny(hosts, key.substring(0, key.indexOf('/')), vs)) {
                report.accept("warning", path + ": no host of the VirtualService " + vs.hosts() + " is accepted by Gateway "
                        + key + " for namespace " + vs.namespace() + " (its server hosts: " + hosts + ") (IST0132)");
            }
        }
        for (int i = 0; i < vs.http().size(); i++) {
            List<VirtualService.Match> matches = vs.http().get(i).match();
            for (int j = 0; j < matches.size(); j++) {
                matchGateways(vs, "spec.http[" + i + "].match[" + j + "].gateways", matches.get(j).gateways(), report);
            }
        }
        l4MatchGateways(vs, "tls", vs.tls(), report);
        l4MatchGateways(vs, "tcp", vs.tcp(), report);
    }

    private void l4MatchGateways(VirtualService vs, String field, List<VirtualService.L4Route> routes,
            BiConsumer<String, String> report) {
        for (int i = 0; i < routes.size(); i++) {
            List<VirtualService.L4Match> matches = routes.get(i).match();
            for (int j = 0; j < matches.size(); j++) {
                matchGateways(vs, "spec." + field + "[" + i + "].match[" + j + "].gateways", matches.get(j).gateways(), report);
            }
        }
    }

    private void matchGateways(VirtualService vs, String path, List<String> gateways, BiConsumer<String, String> report) {
        for (int k = 0; k < gateways.size(); k++) {
            String key = resolve(gateways.get(k), vs.namespace());
            if (key != null && !serverHosts.containsKey(key)) {
                report.accept("error", notFound(path + "[" + k + "]", gateways.get(k), key));
            }
        }
    }

    /** istioctl's words on a cluster ("Referenced gateway not found"); with files, where it was looked for. */
    private String notFound(String path, String written, String key) {
        return cluster ? path + ": referenced gateway not found: \"" + written + "\" (no Gateway " + key + " on the cluster)"
                + " (IST0101)" : path + ": gateway \"" + written + "\" is not in the analyzed files (no Gateway " + key + ")"
                + " (IST0101)";
    }

    /** "ns/name" as written, a short name in the VirtualService's namespace (Istio's NewShortOrFullName); null for mesh. */
    private static String resolve(String gateway, String namespace) {
        if (gateway.equals(MESH)) {
            return null;
        }
        return gateway.contains("/") ? gateway : namespace + "/" + gateway;
    }

    /**
     * Whether one server host of the Gateway (in {@code gatewayNamespace}) takes one of the VirtualService's hosts, as
     * Istio's analyzer decides: the namespace part ("ns/", "./" for the Gateway's own, "*&#47;" or none for any) must
     * allow the VirtualService's namespace (its exportTo is not considered), and the hosts, as written, must overlap.
     */
    static boolean acceptsAny(List<String> serverHosts, String gatewayNamespace, VirtualService vs) {
        for (String serverHost : serverHosts) {
            int slash = serverHost.indexOf('/');
            String namespace = slash < 0 ? "*" : serverHost.substring(0, slash);
            if (namespace.equals(".")) {
                namespace = gatewayNamespace;
            }
            if (!namespace.equals("*") && !namespace.equals(vs.namespace())) {
                continue;
            }
            String host = serverHost.substring(slash + 1);
            if (vs.hosts().stream().anyMatch(h -> overlap(host, h))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Istio's host.Name.Matches: equal names, or wildcard names ("*", "*.example.com") that cover the other, in either
     * direction ("*.example.com" and "shop.example.com" overlap, as do "*.example.com" and "*.com").
     */
    static boolean overlap(String a, String b) {
        boolean aWild = a.startsWith("*");
        boolean bWild = b.startsWith("*");
        if (aWild && bWild) {
            return a.length() < b.length() ? b.substring(1).endsWith(a.substring(1)) : a.substring(1).endsWith(b.substring(1));
        }
        if (aWild) {
            return b.endsWith(a.substring(1));
        }
        if (bWild) {
            return a.endsWith(b.substring(1));
        }
        return a.equals(b);
    }
}
