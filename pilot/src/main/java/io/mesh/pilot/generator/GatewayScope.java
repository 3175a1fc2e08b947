package io.mesh.pilot.generator;

import io.mesh.config.ExportTo;
import io.mesh.config.Gateway;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Which Gateways a router proxy implements (selector ⊆ its labels) and which VirtualServices bind to each. */
final class GatewayScope {
    private GatewayScope() {
    }

    static List<Gateway> forProxy(ProxyInfo proxy, MeshSnapshot snapshot) {
        return snapshot.gateways().stream().filter(g -> g.selector().entrySet().stream()
                .allMatch(e -> e.getValue().equals(proxy.labels().get(e.getKey())))).toList();
    }

    /**
     * The VirtualServices bound to this gateway that the proxy's namespace sees (exportTo), in Istio's order: private
     * to that namespace first, then exported to it by name, then public; the snapshot's order (oldest first) within
     * each.
     */
    static List<VirtualService> boundTo(Gateway gw, MeshSnapshot snapshot, ProxyInfo proxy) {
        String full = gw.namespace() + "/" + gw.name();
        return snapshot.virtualServices().stream().filter(vs -> vs.gateways().stream()
                .anyMatch(g -> g.equals(full) || (g.equals(gw.name()) && vs.namespace().equals(gw.namespace()))))
                .filter(vs -> ExportTo.visible(vs.exportTo(), vs.namespace(), proxy.namespace()))
                .sorted(Comparator.comparing(vs -> ExportTo.scope(vs.exportTo(), vs.namespace(), proxy.namespace())))
                .toList();
    }

    /** Whether a Gateway server's host ("*", "*.suffix" or a name, without "ns/") takes {@code host}. */
    static boolean hostMatches(String pattern, String host) {
        return io.mesh.config.Hosts.covers(pattern, host);
    }

    /**
     * The hosts a VirtualService bound to {@code gw} gets on {@code server}: Istio's intersection of the two lists
     * ({@code host.Names.Intersection}). A server host whose namespace part (a namespace, "." for the Gateway's own,
     * "*" or none for any) admits the VirtualService's namespace and that matches a VirtualService host either way gives
     * the narrower of the two: a server's "*.example.com" takes "a.example.com", and a VirtualService's "*" or
     * "*.example.com" on a server of "a.example.com" is served as "a.example.com".
     */
    static List<String> matchingHosts(Gateway gw, VirtualService vs, Gateway.Server server) {
        List<String> out = new ArrayList<>();
        for (String host : vs.hosts()) {
            for (String sh : server.hosts()) {
                String ns = sh.contains("/") ? sh.substring(0, sh.indexOf('/')) : "*";
                String h = sh.contains("/") ? sh.substring(sh.indexOf('/') + 1) : sh;
                boolean nsOk = ns.equals("*") || ns.equals(vs.namespace())
                        || (ns.equals(".") && vs.namespace().equals(gw.namespace()));
                String taken = !nsOk ? null : hostMatches(h, host) ? host : hostMatches(host, h) ? h : null;
                if (taken != null && !out.contains(taken)) {
                    out.add(taken);
                }
            }
        }
        return out;
    }
}
