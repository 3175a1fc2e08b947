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

    /**
     * PeerAuthentication: the inbound mTLS mode, UNSET, DISABLE, PERMISSIVE or STRICT; {@code created} (null when
     * unknown, e.g. a file) decides which of several at one level wins, as in istiod (the oldest).
     */
    public record PeerAuthentication(String namespace, String name, Map<String, String> selector, String mtlsMode,
            Map<Integer, String> portLevelMtls, java.time.Instant created) {
        public PeerAuthentication {
            selector = Map.copyOf(selector);
            portLevelMtls = Map.copyOf(portLevelMtls);
        }
    }

    /**
     * AuthorizationPolicy: ALLOW/DENY (AUDIT is accepted and has no effect), or CUSTOM with its {@code provider.name}
     * ({@code provider}; null for the other actions), which pilot serves with the extension provider of that name.
     * Within a rule,
     * {@code from} entries are ORed, {@code to} entries are ORed, and from, to and every {@code when} condition
     * are ANDed, as in Istio.
     */
    public record AuthorizationPolicy(String namespace, String name, Map<String, String> selector, String action,
            List<Rule> rules, List<PolicyTargetRef> targetRefs, String provider) {
        public AuthorizationPolicy {
            selector = Map.copyOf(selector);
            rules = List.copyOf(rules);
            targetRefs = List.copyOf(targetRefs);
        }

        /** A policy of an action other than CUSTOM (no provider). */
        public AuthorizationPolicy(String namespace, String name, Map<String, String> selector, String action,
                List<Rule> rules, List<PolicyTargetRef> targetRefs) {
            this(namespace, name, selector, action, rules, targetRefs, null);
        }

        /** A policy that selects by labels (or the whole namespace), with no targetRefs. */
        public AuthorizationPolicy(String namespace, String name, Map<String, String> selector, String action,
                List<Rule> rules) {
            this(namespace, name, selector, action, rules, List.of());
        }
    }

    /** One rule: any of {@code from}, any of {@code to} (empty: no constraint), and all of {@code when}. */
    public record Rule(List<Source> from, List<Operation> to, List<Condition> when) {
        public Rule {
            from = List.copyOf(from);
            to = List.copyOf(to);
            when = List.copyOf(when);
        }
    }

    /**
     * rules[].from[].source: every non-empty field must match. {@code requestPrincipals} are "ISSUER/SUBJECT" of a
     * JWT a RequestAuthentication verified.
     */
    public record Source(List<String> principals, List<String> notPrincipals, List<String> namespaces,
            List<String> notNamespaces, List<String> ipBlocks, List<String> notIpBlocks, List<String> remoteIpBlocks,
            List<String> notRemoteIpBlocks, List<String> requestPrincipals, List<String> notRequestPrincipals) {
        public Source(List<String> principals, List<String> notPrincipals, List<String> namespaces,
                List<String> notNamespaces, List<String> ipBlocks, List<String> notIpBlocks, List<String> remoteIpBlocks,
                List<String> notRemoteIpBlocks) {
            this(principals, notPrincipals, namespaces, notNamespaces, ipBlocks, notIpBlocks, remoteIpBlocks,
                    notRemoteIpBlocks, List.of(), List.of());
        }

        public Source {
            requestPrincipals = List.copyOf(requestPrincipals);
            notRequestPrincipals = List.copyOf(notRequestPrincipals);
            principals = List.copyOf(principals);
            notPrincipals = List.copyOf(notPrincipals);
            namespaces = List.copyOf(namespaces);
            notNamespaces = List.copyOf(notNamespaces);
            ipBlocks = List.copyOf(ipBlocks);
            notIpBlocks = List.copyOf(notIpBlocks);
            remoteIpBlocks = List.copyOf(remoteIpBlocks);
            notRemoteIpBlocks = List.copyOf(notRemoteIpBlocks);
        }
    }

    /** rules[].to[].operation: every non-empty field must match. */
    public record Operation(List<String> hosts, List<String> notHosts, List<String> ports, List<String> notPorts,
            List<String> methods, List<String> notMethods, List<String> paths, List<String> notPaths) {
        public Operation {
            hosts = List.copyOf(hosts);
            notHosts = List.copyOf(notHosts);
            ports = List.copyOf(ports);
            notPorts = List.copyOf(notPorts);
            methods = List.copyOf(methods);
            notMethods = List.copyOf(notMethods);
            paths = List.copyOf(paths);
            notPaths = List.copyOf(notPaths);
        }
    }

    /**
     * rules[].when[]: {@code key} is one of {@link #CONDITION_KEYS}, {@code request.headers[NAME]} or
     * {@code request.auth.claims[NAME]}; the value matches if it is any of {@code values} (when set) and none of
     * {@code notValues}.
     */
    public record Condition(String key, List<String> values, List<String> notValues) {
        public Condition {
            values = List.copyOf(values);
            notValues = List.copyOf(notValues);
        }

        /** The header name of a {@code request.headers[NAME]} key, or null. */
        public String header() {
            return key.startsWith("request.headers[") && key.endsWith("]")
                    ? key.substring("request.headers[".length(), key.length() - 1) : null;
        }

        /** The claim name of a {@code request.auth.claims[NAME]} key, or null. */
        public String claim() {
            return key.startsWith(CLAIMS_KEY + "[") && key.endsWith("]")
                    ? key.substring(CLAIMS_KEY.length() + 1, key.length() - 1) : null;
        }
    }

    /**
     * The {@code when} keys pilot generates RBAC for, besides {@code request.headers[NAME]} and
     * {@code request.auth.claims[NAME]}. The {@code request.auth.*} ones read what a RequestAuthentication verified.
     */
    public static final java.util.Set<String> CONDITION_KEYS = java.util.Set.of("source.ip", "remote.ip",
            "source.namespace", "source.principal", "destination.ip", "destination.port", "request.auth.principal",
            "request.auth.audiences", "request.auth.presenter");

    /** The key prefix of a claim condition, {@code request.auth.claims[NAME]}. */
    public static final String CLAIMS_KEY = "request.auth.claims";

    static Sidecar sidecar(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("workloadSelector", "ingress", "egress", "outboundTrafficPolicy", "inboundConnectionPool");
        List<String> hosts = new java.util.ArrayList<>();
        for (String inert : List.of("ingress", "inboundConnectionPool")) {
            if (r.has(inert)) {
                p.warn(r.at(inert), "has no effect here: the sidecar's inbound ports and pools come from the services"
                        + " its workload serves");
            }
        }
        for (SpecReader e : r.list("egress")) {
            e.allow("port", "bind", "captureMode", "hosts");
            for (String inert : List.of("port", "bind", "captureMode")) {
                if (e.has(inert)) {
                    p.warn(e.at(inert), "has no effect here: an egress listener's hosts apply to every port");
                }
            }
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
        Map<String, String> selector = selector(r);
        if (selector.isEmpty() && !ports.isEmpty()) {
            // As Istio's CRD (its CEL rule): a port number only means something for a known set of pods.
            p.error("spec.portLevelMtls", "portLevelMtls requires selector");
        }
        return new PeerAuthentication(raw.namespace(), raw.name(), selector, mode, ports, raw.created());
    }

    private static String mtlsMode(SpecReader m, Problems p) {
        String mode = m.string("mode") == null ? "UNSET" : m.string("mode");
        if (!java.util.Set.of("UNSET", "DISABLE", "PERMISSIVE", "STRICT").contains(mode)) {
            p.error(m.at("mode"), "unknown mTLS mode \"" + mode + "\"");
        }
        return mode;
    }

    private static final java.util.regex.Pattern IPV4 =
            java.util.regex.Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    /** An IPv4/IPv6 address, optionally with "/prefix-length"; never resolves names. */
    public static boolean isIpOrCidr(String v) {
        int slash = v.indexOf('/');
        String addr = slash < 0 ? v : v.substring(0, slash);
        int max;
        if (IPV4.matcher(addr).matches()) {
            max = 32;
        } else if (addr.contains(":") && addr.matches("[0-9a-fA-F:.]+")) {
            try {
                java.net.InetAddress.getByName(addr); // a literal: no lookup
            } catch (java.net.UnknownHostException e) {
                return false;
            }
            max = 128;
        } else {
            return false;
        }
        if (slash < 0) {
            return true;
        }
        try {
            int len = Integer.parseInt(v.substring(slash + 1));
            return len >= 0 && len <= max;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    static Map<String, String> selector(SpecReader r) {
        SpecReader s = r.object("selector");
        if (s == null) {
            return Map.of();
        }
        s.allow("matchLabels");
        return s.stringMap("matchLabels");
    }
}
