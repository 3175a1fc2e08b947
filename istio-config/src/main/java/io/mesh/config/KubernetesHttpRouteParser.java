package io.mesh.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Validates a Kubernetes Gateway API HTTPRoute as its CRD schema and istiod's conversion do. */
public final class KubernetesHttpRouteParser {
    static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
            "PATCH");
    static final Set<String> FILTERS = Set.of("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect",
            "URLRewrite", "RequestMirror", "CORS");

    private KubernetesHttpRouteParser() {
    }

    public static KubernetesHttpRoute parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("parentRefs", "hostnames", "rules");
        List<KubernetesHttpRoute.ParentRef> parents = parentRefs(r);
        List<String> hostnames = hostnames(r);
        List<KubernetesHttpRoute.Rule> rules = new ArrayList<>();
        for (SpecReader rule : r.list("rules")) {
            rules.add(rule(rule));
        }
        if (!r.has("rules")) {
            // The API's default: one rule that matches every request and has no backend (404).
            rules.add(new KubernetesHttpRoute.Rule(null, List.of(), List.of(), List.of()));
        }
        return new KubernetesHttpRoute(raw.namespace(), raw.name(), parents, hostnames, rules, raw.created());
    }

    /** A route's {@code spec.parentRefs} (every route kind has the same). */
    static List<KubernetesHttpRoute.ParentRef> parentRefs(SpecReader r) {
        Problems p = r.problems();
        List<KubernetesHttpRoute.ParentRef> parents = new ArrayList<>();
        for (SpecReader ref : r.list("parentRefs")) {
            ref.allow("group", "kind", "namespace", "name", "sectionName", "port");
            String name = ref.requiredString("name");
            Integer port = ref.integer("port");
            if (port != null && (port < 1 || port > 65535)) {
                p.error(ref.at("port"), "must be between 1 and 65535");
            }
            KubernetesHttpRoute.ParentRef parent = new KubernetesHttpRoute.ParentRef(ref.string("group") == null
                    ? Kind.GATEWAY_API : ref.string("group"), ref.string("kind") == null ? "Gateway" : ref.string("kind"),
                    ref.string("namespace"), name == null ? "" : name, ref.string("sectionName"), port);
            if (!parent.gateway() && !parent.mesh()) {
                // istiod skips such a parent without a word ("maybe it is for another controller"); say so here.
                p.warn(ref.path(), "group \"" + parent.group() + "\" kind \"" + parent.kind() + "\" is not a parent"
                        + " this mesh takes (a Gateway of " + Kind.GATEWAY_API + "; for the mesh a Service of group \"\""
                        + " or a ServiceEntry of group networking.istio.io): the route does not attach to it");
            }
            parents.add(parent);
        }
        return parents;
    }

    /** A route's {@code spec.hostnames} (HTTPRoute, GRPCRoute, TLSRoute): host names, "*." wildcards allowed. */
    static List<String> hostnames(SpecReader r) {
        List<String> hostnames = r.strings("hostnames");
        for (int i = 0; i < hostnames.size(); i++) {
            String h = hostnames.get(i);
            String err = h.equals("*") ? "\"*\" is not a hostname; leave hostnames out for any host"
                    : Hosts.check(h, true);
            if (err == null && GatewayParser.ipAddress(h)) {
                err = "must be a host name, not an IP address";
            }
            if (err != null) {
                r.problems().error("spec.hostnames[" + i + "]", err);
            }
        }
        return hostnames;
    }

    private static KubernetesHttpRoute.Rule rule(SpecReader r) {
        Problems p = r.problems();
        r.allow("name", "matches", "filters", "backendRefs", "timeouts", "retry", "sessionPersistence");
        List<KubernetesHttpRoute.Match> matches = new ArrayList<>();
        for (SpecReader m : r.list("matches")) {
            matches.add(match(m));
        }
        List<KubernetesHttpRoute.Filter> filters = filters(r, true);
        List<KubernetesHttpRoute.BackendRef> backends = new ArrayList<>();
        for (SpecReader b : r.list("backendRefs")) {
            backends.add(backend(b, true));
        }
        long redirects = filters.stream().filter(f -> f.redirect() != null).count();
        if (redirects > 0 && !backends.isEmpty()) {
            p.error(r.at("filters"), "RequestRedirect cannot be used with backendRefs");
        }
        if (redirects > 0 && filters.stream().anyMatch(f -> f.rewrite() != null)) {
            p.error(r.at("filters"), "RequestRedirect and URLRewrite cannot both be used in one rule");
        }
        for (String single : List.of("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect",
                "URLRewrite", "CORS")) {
            if (filters.stream().filter(f -> f.type().equals(single)).count() > 1) {
                p.error(r.at("filters"), single + " may be used at most once per rule");
            }
        }
        for (KubernetesHttpRoute.Filter f : filters) {
            KubernetesHttpRoute.PathModifier path = f.redirect() != null ? f.redirect().path()
                    : f.rewrite() != null ? f.rewrite().path() : null;
            if (path != null && path.type().equals("ReplacePrefixMatch") && (matches.isEmpty()
                    || matches.stream().anyMatch(m -> m.path() != null && !m.path().type().equals("PathPrefix")))) {
                p.error(r.at("filters"), "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match");
            }
        }
        java.time.Duration request = null;
        java.time.Duration backendRequest = null;
        SpecReader t = r.object("timeouts");
        if (t != null) {
            t.allow("request", "backendRequest");
            request = t.duration("request");
            backendRequest = t.duration("backendRequest");
            if (request != null && backendRequest != null && !request.isZero() && backendRequest.compareTo(request) > 0) {
                p.error(t.at("backendRequest"), "must not be longer than request");
            }
        }
        if (r.has("sessionPersistence")) {
            p.warn(r.at("sessionPersistence"), "is not served by this mesh");
        }
        return new KubernetesHttpRoute.Rule(r.string("name"), matches, filters, backends, request, backendRequest,
                retry(r.object("retry")));
    }

    /** A rule's {@code retry}: attempts not negative, backoff at least 1ms (Envoy's), codes of 400-599. */
    private static KubernetesHttpRoute.Retry retry(SpecReader r) {
        if (r == null) {
            return null;
        }
        r.allow("attempts", "backoff", "codes");
        Integer attempts = r.integer("attempts");
        if (attempts != null && attempts < 0) {
            r.problems().error(r.at("attempts"), "must not be negative, got " + attempts);
        }
        java.time.Duration backoff = r.duration("backoff");
        if (backoff != null && !backoff.isNegative() && backoff.toMillis() < 1) {
            r.problems().error(r.at("backoff"), "must be at least 1ms, got \"" + r.string("backoff") + "\"");
        }
        List<Integer> codes = new ArrayList<>();
        List<String> listed = r.strings("codes");
        for (int i = 0; i < listed.size(); i++) {
            String at = r.at("codes") + "[" + i + "]";
            if (!listed.get(i).matches("\\d{1,3}")) {
                r.problems().error(at, "must be an HTTP status code between 400 and 599, got \"" + listed.get(i) + "\"");
            } else if (Integer.parseInt(listed.get(i)) < 400 || Integer.parseInt(listed.get(i)) > 599) {
                r.problems().error(at, "must be between 400 and 599, got " + listed.get(i));
            } else {
                codes.add(Integer.parseInt(listed.get(i)));
            }
        }
        return new KubernetesHttpRoute.Retry(attempts, backoff, codes);
    }

    private static KubernetesHttpRoute.Match match(SpecReader m) {
        Problems p = m.problems();
        m.allow("path", "headers", "queryParams", "method");
        KubernetesHttpRoute.PathMatch path = null;
        SpecReader pm = m.object("path");
        if (pm != null) {
            pm.allow("type", "value");
            String type = pm.string("type") == null ? "PathPrefix" : pm.string("type");
            String value = pm.string("value") == null ? "/" : pm.string("value");
            if (!Set.of("Exact", "PathPrefix", "RegularExpression").contains(type)) {
                p.error(pm.at("type"), "must be Exact, PathPrefix or RegularExpression, got \"" + type + "\"");
            } else if (type.equals("RegularExpression")) {
                regex(pm, "value", value);
            } else if (!value.startsWith("/")) {
                p.error(pm.at("value"), "must be an absolute path (start with \"/\"), got \"" + value + "\"");
            } else if (value.contains("//") || value.contains("/./") || value.contains("/../") || value.contains("%2f")
                    || value.contains("%2F") || value.contains("#")) {
                p.error(pm.at("value"), "must not contain \"//\", \"/./\", \"/../\", \"%2f\" or \"#\"");
            }
            path = new KubernetesHttpRoute.PathMatch(type, value);
        }
        String method = m.string("method");
        if (method != null && !METHODS.contains(method)) {
            p.error(m.at("method"), "must be one of " + String.join(", ", new java.util.TreeSet<>(METHODS)) + ", got \""
                    + method + "\"");
        }
        return new KubernetesHttpRoute.Match(path, valueMatches(m, "headers"), valueMatches(m, "queryParams"), method);
    }

    static List<KubernetesHttpRoute.ValueMatch> valueMatches(SpecReader m, String field) {
        List<KubernetesHttpRoute.ValueMatch> out = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        for (SpecReader h : m.list(field)) {
            h.allow("type", "name", "value");
            String type = h.string("type") == null ? "Exact" : h.string("type");
            String name = h.requiredString("name");
            String value = h.string("value");
            if (value == null) {
                h.problems().error(h.at("value"), "is required");
                value = "";
            }
            if (!Set.of("Exact", "RegularExpression").contains(type)) {
                h.problems().error(h.at("type"), "must be Exact or RegularExpression, got \"" + type + "\"");
            } else if (type.equals("RegularExpression")) {
                regex(h, "value", value);
            }
            if (name == null || name.isEmpty()) {
                continue;
            }
            // Header names ignore case; the first condition on a name wins, as the spec says.
            String key = field.equals("headers") ? name.toLowerCase(java.util.Locale.ROOT) : name;
            if (seen.add(key)) {
                out.add(new KubernetesHttpRoute.ValueMatch(type, key, value));
            }
        }
        return out;
    }

    static void regex(SpecReader r, String field, String value) {
        try {
            java.util.regex.Pattern.compile(value);
        } catch (RuntimeException e) {
            r.problems().error(r.at(field), "invalid regular expression \"" + value + "\": "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** A rule's (or a backend's, {@code ofRule} false: header modifiers only) filters. */
    private static List<KubernetesHttpRoute.Filter> filters(SpecReader r, boolean ofRule) {
        return filters(r, ofRule ? FILTERS : Set.of("RequestHeaderModifier", "ResponseHeaderModifier"), ofRule
                ? String.join(", ", new java.util.TreeSet<>(FILTERS))
                : "RequestHeaderModifier and ResponseHeaderModifier on a backendRef");
    }

    /** Filters of the types {@code allowed} (another type is an error that says {@code served}). */
    static List<KubernetesHttpRoute.Filter> filters(SpecReader r, Set<String> allowed, String served) {
        List<KubernetesHttpRoute.Filter> out = new ArrayList<>();
        for (SpecReader f : r.list("filters")) {
            f.allow("type", "requestHeaderModifier", "responseHeaderModifier", "requestRedirect", "urlRewrite",
                    "requestMirror", "extensionRef", "cors", "externalAuth");
            String type = f.requiredString("type");
            if (type == null) {
                continue;
            }
            if (!allowed.contains(type)) {
                f.problems().error(f.at("type"), "unsupported filter type \"" + type + "\" (this mesh serves "
                        + served + ")");
                continue;
            }
            String field = Character.toLowerCase(type.charAt(0)) + type.substring(1);
            if (type.equals("URLRewrite") || type.equals("CORS")) {
                field = type.equals("CORS") ? "cors" : "urlRewrite";
            }
            SpecReader body = f.object(field);
            if (body == null) {
                f.problems().error(f.at(field), "is required for filter type " + type);
                continue;
            }
            out.add(switch (type) {
                case "RequestHeaderModifier" -> new KubernetesHttpRoute.Filter(type, headers(body), null, null, null, null,
                        null);
                case "ResponseHeaderModifier" -> new KubernetesHttpRoute.Filter(type, null, headers(body), null, null,
                        null, null);
                case "RequestRedirect" -> new KubernetesHttpRoute.Filter(type, null, null, redirect(body), null, null,
                        null);
                case "URLRewrite" -> new KubernetesHttpRoute.Filter(type, null, null, null, rewrite(body), null, null);
                case "CORS" -> new KubernetesHttpRoute.Filter(type, null, null, null, null, null,
                        KubernetesHttpCorsParser.parse(body));
                default -> new KubernetesHttpRoute.Filter(type, null, null, null, null, mirror(body), null);
            });
        }
        return out;
    }

    private static KubernetesHttpRoute.HeaderModifier headers(SpecReader h) {
        h.allow("set", "add", "remove");
        return new KubernetesHttpRoute.HeaderModifier(headerList(h, "set"), headerList(h, "add"), h.strings("remove"));
    }

    private static Map<String, String> headerList(SpecReader h, String field) {
        Map<String, String> out = new LinkedHashMap<>();
        for (SpecReader e : h.list(field)) {
            e.allow("name", "value");
            String name = e.requiredString("name");
            String value = e.string("value");
            if (name != null && !name.isEmpty()) {
                out.putIfAbsent(name.toLowerCase(java.util.Locale.ROOT), value == null ? "" : value);
            }
        }
        return out;
    }

    private static KubernetesHttpRoute.PathModifier pathModifier(SpecReader f) {
        SpecReader pm = f.object("path");
        if (pm == null) {
            return null;
        }
        pm.allow("type", "replaceFullPath", "replacePrefixMatch");
        String type = pm.requiredString("type");
        if (type == null) {
            return null;
        }
        String field = type.equals("ReplaceFullPath") ? "replaceFullPath" : "replacePrefixMatch";
        if (!Set.of("ReplaceFullPath", "ReplacePrefixMatch").contains(type)) {
            pm.problems().error(pm.at("type"), "must be ReplaceFullPath or ReplacePrefixMatch, got \"" + type + "\"");
            return null;
        }
        String value = pm.string(field);
        if (value == null) {
            pm.problems().error(pm.at(field), "is required for type " + type);
            return null;
        }
        return new KubernetesHttpRoute.PathModifier(type, value);
    }

    private static KubernetesHttpRoute.Redirect redirect(SpecReader f) {
        f.allow("scheme", "hostname", "path", "port", "statusCode");
        String scheme = f.string("scheme");
        if (scheme != null && !Set.of("http", "https").contains(scheme)) {
            f.problems().error(f.at("scheme"), "must be http or https, got \"" + scheme + "\"");
        }
        Integer port = f.integer("port");
        if (port != null && (port < 1 || port > 65535)) {
            f.problems().error(f.at("port"), "must be between 1 and 65535");
        }
        Integer code = f.integer("statusCode");
        if (code != null && code != 301 && code != 302) {
            f.problems().error(f.at("statusCode"), "must be 301 or 302, got " + code);
        }
        return new KubernetesHttpRoute.Redirect(scheme, f.string("hostname"), pathModifier(f), port, code);
    }

    private static KubernetesHttpRoute.Rewrite rewrite(SpecReader f) {
        f.allow("hostname", "path");
        return new KubernetesHttpRoute.Rewrite(f.string("hostname"), pathModifier(f));
    }

    private static KubernetesHttpRoute.Mirror mirror(SpecReader f) {
        f.allow("backendRef", "percent", "fraction");
        SpecReader b = f.object("backendRef");
        if (b == null) {
            f.problems().error(f.at("backendRef"), "is required");
            return null;
        }
        Double percent = null;
        Integer pct = f.integer("percent");
        if (pct != null) {
            if (pct < 0 || pct > 100) {
                f.problems().error(f.at("percent"), "must be between 0 and 100");
            }
            percent = pct.doubleValue();
        }
        SpecReader fr = f.object("fraction");
        if (fr != null) {
            fr.allow("numerator", "denominator");
            Integer num = fr.integer("numerator");
            Integer den = fr.integer("denominator") == null ? 100 : fr.integer("denominator");
            if (num == null || num < 0 || den < 1 || num > den) {
                f.problems().error(f.at("fraction"), "numerator must be between 0 and denominator (at least 1)");
            } else {
                percent = 100.0 * num / den;
            }
        }
        return new KubernetesHttpRoute.Mirror(backend(b, false), percent);
    }

    static KubernetesHttpRoute.BackendRef backend(SpecReader b, boolean weighted) {
        Problems p = b.problems();
        b.allow(weighted ? new String[] {"group", "kind", "name", "namespace", "port", "weight", "filters"}
                : new String[] {"group", "kind", "name", "namespace", "port"});
        String group = b.string("group") == null ? "" : b.string("group");
        String kind = b.string("kind") == null ? "Service" : b.string("kind");
        String name = b.requiredString("name");
        Integer port = b.integer("port");
        boolean service = group.isEmpty() && kind.equals("Service");
        if (service && port == null) {
            p.error(b.at("port"), "is required when the backend is a Service");
        } else if (port != null && (port < 1 || port > 65535)) {
            p.error(b.at("port"), "must be between 1 and 65535");
        }
        if (service && name != null && name.contains(".")) {
            p.error(b.at("name"), "must be the name of the Service, not a host name");
        }
        Integer weight = weighted ? b.integer("weight") : null;
        if (weight != null && (weight < 0 || weight > 1_000_000)) {
            p.error(b.at("weight"), "must be between 0 and 1000000");
        }
        List<KubernetesHttpRoute.Filter> filters = weighted ? filters(b, false) : List.of();
        return new KubernetesHttpRoute.BackendRef(group, kind, name == null ? "" : name, b.string("namespace"), port,
                weight == null ? 1 : weight, filters);
    }
}
