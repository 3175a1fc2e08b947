package io.mesh.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Validates a Kubernetes Gateway API GRPCRoute as its CRD schema and istiod's conversion do. Parents, hostnames, header
 * matches, filters and backends are read as an HTTPRoute's ({@link KubernetesHttpRouteParser}); a method match names
 * a service and/or a method, each a gRPC identifier for type Exact or a regular expression for RegularExpression.
 */
public final class KubernetesGrpcRouteParser {
    static final Set<String> FILTERS = Set.of("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror");
    /** The CRD's patterns of an Exact match's service (a fully qualified protobuf service) and method. */
    private static final Pattern SERVICE = Pattern.compile("(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*");
    private static final Pattern METHOD = Pattern.compile("[A-Za-z_][A-Za-z_0-9]*");

    private KubernetesGrpcRouteParser() {
    }

    public static KubernetesGrpcRoute parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("parentRefs", "hostnames", "rules");
        List<KubernetesHttpRoute.ParentRef> parents = KubernetesHttpRouteParser.parentRefs(r);
        List<String> hostnames = KubernetesHttpRouteParser.hostnames(r);
        List<KubernetesGrpcRoute.Rule> rules = new ArrayList<>();
        for (SpecReader rule : r.list("rules")) {
            rules.add(rule(rule));
        }
        return new KubernetesGrpcRoute(raw.namespace(), raw.name(), parents, hostnames, rules, raw.created());
    }

    private static KubernetesGrpcRoute.Rule rule(SpecReader r) {
        r.allow("name", "matches", "filters", "backendRefs", "sessionPersistence");
        List<KubernetesGrpcRoute.Match> matches = new ArrayList<>();
        for (SpecReader m : r.list("matches")) {
            m.allow("method", "headers");
            matches.add(new KubernetesGrpcRoute.Match(method(m.object("method")),
                    KubernetesHttpRouteParser.valueMatches(m, "headers")));
        }
        List<KubernetesHttpRoute.Filter> filters = KubernetesHttpRouteParser.filters(r, FILTERS,
                String.join(", ", new java.util.TreeSet<>(FILTERS)));
        for (String single : List.of("RequestHeaderModifier", "ResponseHeaderModifier")) {
            if (filters.stream().filter(f -> f.type().equals(single)).count() > 1) {
                r.problems().error(r.at("filters"), single + " may be used at most once per rule");
            }
        }
        List<KubernetesHttpRoute.BackendRef> backends = new ArrayList<>();
        for (SpecReader b : r.list("backendRefs")) {
            backends.add(KubernetesHttpRouteParser.backend(b, true));
        }
        if (r.has("sessionPersistence")) {
            r.problems().warn(r.at("sessionPersistence"), "is not served by this mesh");
        }
        return new KubernetesGrpcRoute.Rule(r.string("name"), matches, filters, backends);
    }

    private static KubernetesGrpcRoute.MethodMatch method(SpecReader m) {
        if (m == null) {
            return null;
        }
        Problems p = m.problems();
        m.allow("type", "service", "method");
        String type = m.string("type") == null ? "Exact" : m.string("type");
        String service = m.string("service");
        String method = m.string("method");
        if (!Set.of("Exact", "RegularExpression").contains(type)) {
            p.error(m.at("type"), "must be Exact or RegularExpression, got \"" + type + "\"");
        }
        if (service == null && method == null) {
            p.error(m.path(), "one or both of service and method must be set");
        }
        if (type.equals("Exact")) {
            if (service != null && !SERVICE.matcher(service).matches()) {
                p.error(m.at("service"), "must be a fully qualified gRPC service name (e.g. foo.bar.Greeter), got \""
                        + service + "\"");
            }
            if (method != null && !METHOD.matcher(method).matches()) {
                p.error(m.at("method"), "must be a gRPC method name (e.g. SayHello), got \"" + method + "\"");
            }
        } else if (type.equals("RegularExpression")) {
            if (service != null) {
                KubernetesHttpRouteParser.regex(m, "service", service);
            }
            if (method != null) {
                KubernetesHttpRouteParser.regex(m, "method", method);
            }
        }
        return new KubernetesGrpcRoute.MethodMatch(type, service, method);
    }
}
