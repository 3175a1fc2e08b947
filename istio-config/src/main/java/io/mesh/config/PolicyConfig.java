package io.mesh.config;

import java.util.List;
import java.util.Map;

/** The security and scoping kinds, kept to what pilot's generators read. */
public final class PolicyConfig {
    private PolicyConfig() {
    }

    /**
     * Sidecar: which hosts a workload's outbound config contains ("ns/host", "./host", "*&#47;*"), and its outbound
     * traffic policy (null: the mesh default).
     */
    public record Sidecar(String namespace, String name, Map<String, String> workloadSelector,
            List<String> egressHosts, OutboundTrafficPolicy outboundTrafficPolicy) {
        public Sidecar {
            workloadSelector = Map.copyOf(workloadSelector);
            egressHosts = List.copyOf(egressHosts);
        }

        public Sidecar(String namespace, String name, Map<String, String> workloadSelector, List<String> egressHosts) {
            this(namespace, name, workloadSelector, egressHosts, null);
        }
    }

    /**
     * Istio's outboundTrafficPolicy.mode: where a sidecar sends traffic for a destination it has no service for.
     * ALLOW_ANY passes it through to its original destination; REGISTRY_ONLY refuses it.
     */
    public enum OutboundTrafficPolicy { ALLOW_ANY, REGISTRY_ONLY }

    /** PeerAuthentication: the inbound mTLS mode, UNSET, DISABLE, PERMISSIVE or STRICT. */
    public record PeerAuthentication(String namespace, String name, Map<String, String> selector, String mtlsMode,
            Map<Integer, String> portLevelMtls) {
        public PeerAuthentication {
            selector = Map.copyOf(selector);
            portLevelMtls = Map.copyOf(portLevelMtls);
        }
    }

    /** AuthorizationPolicy: ALLOW/DENY rules of principals, namespaces, methods, paths and ports. */
    public record AuthorizationPolicy(String namespace, String name, Map<String, String> selector, String action,
            List<Rule> rules) {
        public AuthorizationPolicy {
            selector = Map.copyOf(selector);
            rules = List.copyOf(rules);
        }
    }

    public record Rule(List<String> principals, List<String> namespaces, List<String> methods, List<String> paths,
            List<String> ports) {
        public Rule {
            principals = List.copyOf(principals);
            namespaces = List.copyOf(namespaces);
            methods = List.copyOf(methods);
            paths = List.copyOf(paths);
            ports = List.copyOf(ports);
        }
    }

    static Sidecar sidecar(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("workloadSelector", "ingress", "egress", "outboundTrafficPolicy", "inboundConnectionPool");
        List<String> hosts = new java.util.ArrayList<>();
        for (SpecReader e : r.list("egress")) {
            e.allow("port", "bind", "captureMode", "hosts");
            List<String> h = e.strings("hosts");
            if (h.isEmpty()) {
                p.error(e.at("hosts"), "at least one host is required");
            }
            for (int i = 0; i < h.size(); i++) {
                if (!h.get(i).contains("/")) {
                    p.error(e.at("hosts") + "[" + i + "]", "must be namespace/host, e.g. \"./*\" or \"istio-system/*\"");
                }
            }
            hosts.addAll(h);
        }
        SpecReader ws = r.object("workloadSelector");
        Map<String, String> sel = Map.of();
        if (ws != null) {
            ws.allow("labels");
            sel = ws.stringMap("labels");
        }
        OutboundTrafficPolicy outbound = null;
        SpecReader otp = r.object("outboundTrafficPolicy");
        if (otp != null) {
            otp.allow("mode", "egressProxy");
            if (otp.has("egressProxy")) {
                p.error(otp.at("egressProxy"), "is not supported (no egress proxy); use mode ALLOW_ANY or REGISTRY_ONLY");
            }
            String mode = otp.string("mode");
            if (mode == null) {
                outbound = OutboundTrafficPolicy.REGISTRY_ONLY; // Istio's default value of the field
            } else {
                try {
                    outbound = OutboundTrafficPolicy.valueOf(mode);
                } catch (IllegalArgumentException e) {
                    p.error(otp.at("mode"), "unknown mode \"" + mode + "\" (use ALLOW_ANY or REGISTRY_ONLY)");
                }
            }
        }
        return new Sidecar(raw.namespace(), raw.name(), sel, hosts, outbound);
    }

    static PeerAuthentication peerAuthentication(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("selector", "mtls", "portLevelMtls");
        String mode = "UNSET";
        SpecReader m = r.object("mtls");
        if (m != null) {
            m.allow("mode");
            mode = mtlsMode(m, p);
        }
        Map<Integer, String> ports = new java.util.LinkedHashMap<>();
        SpecReader pl = r.object("portLevelMtls");
        if (pl != null) {
            pl.node().fieldNames().forEachRemaining(port -> {
                SpecReader v = pl.object(port);
                if (v != null) {
                    v.allow("mode");
                    try {
                        ports.put(Integer.parseInt(port), mtlsMode(v, p));
                    } catch (NumberFormatException e) {
                        p.error(pl.at(port), "must be a port number");
                    }
                }
            });
        }
        return new PeerAuthentication(raw.namespace(), raw.name(), selector(r), mode, ports);
    }

    private static String mtlsMode(SpecReader m, Problems p) {
        String mode = m.string("mode") == null ? "UNSET" : m.string("mode");
        if (!java.util.Set.of("UNSET", "DISABLE", "PERMISSIVE", "STRICT").contains(mode)) {
            p.error(m.at("mode"), "unknown mTLS mode \"" + mode + "\"");
        }
        return mode;
    }

    static AuthorizationPolicy authorizationPolicy(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("selector", "targetRef", "targetRefs", "rules", "action", "provider");
        String action = r.string("action") == null ? "ALLOW" : r.string("action");
        if (!java.util.Set.of("ALLOW", "DENY", "AUDIT", "CUSTOM").contains(action)) {
            p.error("spec.action", "unknown action \"" + action + "\"");
        }
        List<Rule> rules = new java.util.ArrayList<>();
        for (SpecReader rule : r.list("rules")) {
            rule.allow("from", "to", "when");
            List<String> principals = new java.util.ArrayList<>();
            List<String> namespaces = new java.util.ArrayList<>();
            List<String> methods = new java.util.ArrayList<>();
            List<String> paths = new java.util.ArrayList<>();
            List<String> ports = new java.util.ArrayList<>();
            for (SpecReader from : rule.list("from")) {
                from.allow("source");
                SpecReader s = from.object("source");
                if (s != null) {
                    s.allow("principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces",
                            "notNamespaces", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks");
                    principals.addAll(s.strings("principals"));
                    namespaces.addAll(s.strings("namespaces"));
                }
            }
            for (SpecReader to : rule.list("to")) {
                to.allow("operation");
                SpecReader o = to.object("operation");
                if (o != null) {
                    o.allow("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths");
                    methods.addAll(o.strings("methods"));
                    paths.addAll(o.strings("paths"));
                    ports.addAll(o.strings("ports"));
                }
            }
            rules.add(new Rule(principals, namespaces, methods, paths, ports));
        }
        return new AuthorizationPolicy(raw.namespace(), raw.name(), selector(r), action, rules);
    }

    private static Map<String, String> selector(SpecReader r) {
        SpecReader s = r.object("selector");
        if (s == null) {
            return Map.of();
        }
        s.allow("matchLabels");
        return s.stringMap("matchLabels");
    }
}
