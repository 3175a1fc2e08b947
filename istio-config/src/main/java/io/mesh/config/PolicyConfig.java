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

    /**
     * AuthorizationPolicy: ALLOW/DENY (AUDIT is accepted and has no effect; CUSTOM is rejected). Within a rule,
     * {@code from} entries are ORed, {@code to} entries are ORed, and from, to and every {@code when} condition
     * are ANDed, as in Istio.
     */
    public record AuthorizationPolicy(String namespace, String name, Map<String, String> selector, String action,
            List<Rule> rules) {
        public AuthorizationPolicy {
            selector = Map.copyOf(selector);
            rules = List.copyOf(rules);
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

    /** Istio keys that need what the mesh does not have (SNI-based rules, Envoy extensions). */
    private static final java.util.List<String> UNSUPPORTED_CONDITION_PREFIXES = java.util.List.of(
            "connection.sni", "experimental.envoy.filters.");

    private static final String SUPPORTED_KEYS = "supported: request.headers[NAME], request.auth.claims[NAME], "
            + String.join(", ", new java.util.TreeSet<>(CONDITION_KEYS));

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
        for (String f : List.of("targetRef", "targetRefs")) {
            if (r.has(f)) {
                p.error(r.at(f), "is not supported (only sidecar workloads are enforced); use selector");
            }
        }
        String action = r.string("action") == null ? "ALLOW" : r.string("action");
        switch (action) {
            case "ALLOW", "DENY" -> { }
            case "AUDIT" -> p.warn("spec.action", "AUDIT has no effect here (no audit logging); the policy is ignored");
            case "CUSTOM" -> p.error("spec.action", "CUSTOM (external authorization) is not supported; use ALLOW or DENY");
            default -> p.error("spec.action", "unknown action \"" + action + "\" (use ALLOW, DENY or AUDIT)");
        }
        if (r.has("provider") && !"CUSTOM".equals(action)) {
            p.error(r.at("provider"), "is only for action CUSTOM");
        }
        List<Rule> rules = new java.util.ArrayList<>();
        for (SpecReader rule : r.list("rules")) {
            rule.allow("from", "to", "when");
            List<Source> from = new java.util.ArrayList<>();
            for (SpecReader f : rule.list("from")) {
                f.allow("source");
                SpecReader s = f.object("source");
                if (s == null || s.node().isEmpty()) {
                    p.error(f.at("source"), "must not be empty");
                    continue;
                }
                s.allow("principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces",
                        "notNamespaces", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks");
                from.add(new Source(patterns(s, "principals"), patterns(s, "notPrincipals"),
                        patterns(s, "namespaces"), patterns(s, "notNamespaces"), ips(s, "ipBlocks"),
                        ips(s, "notIpBlocks"), ips(s, "remoteIpBlocks"), ips(s, "notRemoteIpBlocks"),
                        patterns(s, "requestPrincipals"), patterns(s, "notRequestPrincipals")));
            }
            List<Operation> to = new java.util.ArrayList<>();
            for (SpecReader t : rule.list("to")) {
                t.allow("operation");
                SpecReader o = t.object("operation");
                if (o == null || o.node().isEmpty()) {
                    p.error(t.at("operation"), "must not be empty");
                    continue;
                }
                o.allow("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths");
                to.add(new Operation(patterns(o, "hosts"), patterns(o, "notHosts"), ports(o, "ports"),
                        ports(o, "notPorts"), patterns(o, "methods"), patterns(o, "notMethods"), patterns(o, "paths"),
                        patterns(o, "notPaths")));
            }
            List<Condition> when = new java.util.ArrayList<>();
            for (SpecReader w : rule.list("when")) {
                w.allow("key", "values", "notValues");
                Condition c = condition(w, p);
                if (c != null) {
                    when.add(c);
                }
            }
            rules.add(new Rule(from, to, when));
        }
        return new AuthorizationPolicy(raw.namespace(), raw.name(), selector(r), action, rules);
    }

    private static Condition condition(SpecReader w, Problems p) {
        String key = w.requiredString("key");
        List<String> values = w.strings("values");
        List<String> notValues = w.strings("notValues");
        if (values.isEmpty() && notValues.isEmpty()) {
            p.error(w.path(), "values or notValues must be set");
        }
        if (key == null || key.isEmpty()) {
            return null;
        }
        boolean ok = true;
        if (key.startsWith("request.headers[")) {
            if (!key.endsWith("]") || key.length() == "request.headers[]".length()) {
                p.error(w.at("key"), "must be request.headers[NAME], got \"" + key + "\"");
                ok = false;
            }
        } else if (key.startsWith(CLAIMS_KEY + "[")) {
            String claim = key.endsWith("]") ? key.substring(CLAIMS_KEY.length() + 1, key.length() - 1) : "";
            if (claim.startsWith("[")) {
                p.error(w.at("key"), "nested claims (\"" + key + "\") are not supported; use a top-level claim, "
                        + "request.auth.claims[NAME]");
                ok = false;
            } else if (claim.isEmpty() || claim.contains("[") || claim.contains("]")) {
                p.error(w.at("key"), "must be request.auth.claims[NAME], got \"" + key + "\"");
                ok = false;
            }
        } else if (UNSUPPORTED_CONDITION_PREFIXES.stream().anyMatch(key::startsWith)) {
            p.error(w.at("key"), "\"" + key + "\" is not supported (" + SUPPORTED_KEYS + ")");
            ok = false;
        } else if (!CONDITION_KEYS.contains(key)) {
            p.error(w.at("key"), "unknown key \"" + key + "\" (" + SUPPORTED_KEYS + ")");
            ok = false;
        }
        List<String> all = new java.util.ArrayList<>(values);
        all.addAll(notValues);
        for (String v : all) {
            switch (key) {
                case "source.ip", "remote.ip", "destination.ip" -> {
                    if (!isIpOrCidr(v)) {
                        p.error(w.path(), "\"" + v + "\" is not an IP address or CIDR block");
                        ok = false;
                    }
                }
                case "destination.port" -> {
                    if (!isPort(v)) {
                        p.error(w.path(), "\"" + v + "\" is not a port number");
                        ok = false;
                    }
                }
                default -> {
                    if (!wildcardOk(v)) {
                        p.error(w.path(), "\"" + v + "\": \"*\" is only allowed alone, as a prefix or as a suffix");
                        ok = false;
                    }
                }
            }
        }
        return ok ? new Condition(key, values, notValues) : null;
    }

    /** Strings matched exactly, by prefix ("abc*"), by suffix ("*abc") or as present ("*"), as Istio does. */
    private static List<String> patterns(SpecReader r, String field) {
        List<String> out = r.strings(field);
        if (r.has(field) && out.isEmpty()) {
            r.problems().error(r.at(field), "must not be empty when set");
        }
        for (int i = 0; i < out.size(); i++) {
            if (!wildcardOk(out.get(i))) {
                r.problems().error(r.at(field) + "[" + i + "]", "\"*\" is only allowed alone, as a prefix or as a suffix");
            }
        }
        return out;
    }

    private static List<String> ips(SpecReader r, String field) {
        List<String> out = r.strings(field);
        for (int i = 0; i < out.size(); i++) {
            if (!isIpOrCidr(out.get(i))) {
                r.problems().error(r.at(field) + "[" + i + "]", "\"" + out.get(i) + "\" is not an IP address or CIDR block");
            }
        }
        return out;
    }

    private static List<String> ports(SpecReader r, String field) {
        List<String> out = r.strings(field);
        for (int i = 0; i < out.size(); i++) {
            if (!isPort(out.get(i))) {
                r.problems().error(r.at(field) + "[" + i + "]", "\"" + out.get(i) + "\" is not a port number");
            }
        }
        return out;
    }

    private static boolean wildcardOk(String v) {
        int stars = v.length() - v.replace("*", "").length();
        return stars == 0 || (stars == 1 && (v.startsWith("*") || v.endsWith("*")));
    }

    private static boolean isPort(String v) {
        try {
            int n = Integer.parseInt(v);
            return n >= 1 && n <= 65535;
        } catch (NumberFormatException e) {
            return false;
        }
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

    private static Map<String, String> selector(SpecReader r) {
        SpecReader s = r.object("selector");
        if (s == null) {
            return Map.of();
        }
        s.allow("matchLabels");
        return s.stringMap("matchLabels");
    }
}
