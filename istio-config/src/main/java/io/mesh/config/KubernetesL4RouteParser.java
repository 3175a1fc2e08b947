package io.mesh.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Validates a Kubernetes Gateway API TLSRoute or TCPRoute (v1alpha2) as its CRD schema does: parents and backends are
 * read as an HTTPRoute's ({@link KubernetesHttpRouteParser}), without filters; a TLSRoute's hostnames are SNI names.
 * A rule needs at least one backendRef.
 */
public final class KubernetesL4RouteParser {
    private KubernetesL4RouteParser() {
    }

    public static KubernetesL4Route parse(Kind kind, RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        boolean tls = kind == Kind.TLS_ROUTE;
        if (tls) {
            r.allow("parentRefs", "hostnames", "rules");
        } else {
            r.allow("parentRefs", "rules");
        }
        List<KubernetesHttpRoute.ParentRef> parents = KubernetesHttpRouteParser.parentRefs(r);
        List<String> hostnames = tls ? KubernetesHttpRouteParser.hostnames(r) : List.of();
        List<KubernetesL4Route.Rule> rules = new ArrayList<>();
        List<SpecReader> list = r.list("rules");
        if (list.isEmpty()) {
            p.error("spec.rules", "at least one rule is required");
        }
        for (SpecReader rule : list) {
            rule.allow("name", "backendRefs");
            List<KubernetesHttpRoute.BackendRef> backends = new ArrayList<>();
            List<SpecReader> refs = rule.list("backendRefs");
            if (refs.isEmpty()) {
                p.error(rule.at("backendRefs"), "at least one backendRef is required");
            }
            for (SpecReader b : refs) {
                if (b.has("filters")) {
                    p.error(b.at("filters"), "is not a field of a " + kind.kindName + " backendRef");
                }
                backends.add(KubernetesHttpRouteParser.backend(b, true));
            }
            rules.add(new KubernetesL4Route.Rule(rule.string("name"), backends));
        }
        return new KubernetesL4Route(kind, raw.namespace(), raw.name(), parents, hostnames, rules, raw.created());
    }
}
