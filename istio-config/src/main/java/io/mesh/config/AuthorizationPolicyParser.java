package io.mesh.config;

import io.mesh.config.PolicyConfig.AuthorizationPolicy;
import io.mesh.config.PolicyConfig.Condition;
import io.mesh.config.PolicyConfig.Operation;
import io.mesh.config.PolicyConfig.Rule;
import io.mesh.config.PolicyConfig.Source;
import java.util.List;

/**
 * AuthorizationPolicy's validation, as Istio's: YAML -> {@link AuthorizationPolicy}, every problem with its field path.
 * Pure.
 */
final class AuthorizationPolicyParser {
    /** Istio keys that need what the mesh does not have (SNI-based rules, Envoy extensions). */
    private static final List<String> UNSUPPORTED_CONDITION_PREFIXES = List.of(
            "connection.sni", "experimental.envoy.filters.");

    private static final String SUPPORTED_KEYS = "supported: request.headers[NAME], request.auth.claims[NAME], "
            + String.join(", ", new java.util.TreeSet<>(PolicyConfig.CONDITION_KEYS));

    private AuthorizationPolicyParser() {
    }

    static AuthorizationPolicy parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("selector", "targetRef", "targetRefs", "rules", "action", "provider");
        List<PolicyTargetRef> targetRefs = PolicyTargetRef.parse(r, p);
        String action = r.string("action") == null ? "ALLOW" : r.string("action");
        switch (action) {
            case "ALLOW", "DENY" -> { }
            case "AUDIT" -> p.warn("spec.action", "AUDIT has no effect here (no audit logging); the policy is ignored");
            case "CUSTOM" -> custom(r, p);
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
        String provider = "CUSTOM".equals(action) ? r.node().path("provider").path("name").asText("") : null;
        return new AuthorizationPolicy(raw.namespace(), raw.name(), PolicyConfig.selector(r), action, rules, targetRefs,
                provider);
    }

    /** Istio's checks for action CUSTOM (validation.go, ValidateAuthorizationPolicy). */
    private static void custom(SpecReader r, Problems p) {
        if (!r.has("rules")) {
            p.error("spec.rules", "CUSTOM action without rules is meaningless (never triggered); add an empty rule {} to"
                    + " trigger it for every request");
        } else if (r.node().path("provider").path("name").asText("").isEmpty()) {
            p.error("spec.provider.name", "must not be empty");
        }
        com.fasterxml.jackson.databind.JsonNode rules = r.node().path("rules");
        for (int i = 0; i < rules.size(); i++) {
            com.fasterxml.jackson.databind.JsonNode from = rules.get(i).path("from");
            for (int j = 0; j < from.size(); j++) {
                for (String f : List.of("namespaces", "notNamespaces", "principals", "notPrincipals",
                        "requestPrincipals", "notRequestPrincipals")) {
                    if (from.get(j).path("source").has(f)) {
                        p.error("spec.rules[" + i + "].from[" + j + "].source." + f, "is not supported with action CUSTOM");
                    }
                }
            }
            com.fasterxml.jackson.databind.JsonNode when = rules.get(i).path("when");
            for (int j = 0; j < when.size(); j++) {
                String key = when.get(j).path("key").asText("");
                if (key.equals("source.namespace") || key.equals("source.principal") || key.startsWith("request.auth.")) {
                    p.error("spec.rules[" + i + "].when[" + j + "].key", "\"" + key + "\" is not supported with action"
                            + " CUSTOM");
                }
            }
        }
        p.warn("spec.action", "CUSTOM (external authorization) is served only with an envoyExtAuthzHttp provider of that"
                + " name in pilot's extension-providers whose service is in the registry; otherwise the requests its"
                + " rules match are denied, as Istio denies them when it cannot use the provider");
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
        } else if (key.startsWith(PolicyConfig.CLAIMS_KEY + "[")) {
            String claim = key.endsWith("]") ? key.substring(PolicyConfig.CLAIMS_KEY.length() + 1, key.length() - 1) : "";
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
        } else if (!PolicyConfig.CONDITION_KEYS.contains(key)) {
            p.error(w.at("key"), "unknown key \"" + key + "\" (" + SUPPORTED_KEYS + ")");
            ok = false;
        }
        List<String> all = new java.util.ArrayList<>(values);
        all.addAll(notValues);
        for (String v : all) {
            switch (key) {
                case "source.ip", "remote.ip", "destination.ip" -> {
                    if (!PolicyConfig.isIpOrCidr(v)) {
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
            if (!PolicyConfig.isIpOrCidr(out.get(i))) {
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
}
