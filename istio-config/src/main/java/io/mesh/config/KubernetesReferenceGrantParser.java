package io.mesh.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Validates a Kubernetes Gateway API ReferenceGrant as its CRD schema does: {@code from} and {@code to} each hold 1 to
 * 16 entries; {@code group} is required in each (the empty string is the core API group), as are {@code kind} and a
 * from's {@code namespace}; a to's {@code name} is optional. A kind istiod does not take part in (from: Gateway,
 * HTTPRoute, GRPCRoute, TLSRoute, TCPRoute; to: Secret, Service) is a warning, not an error: the grant may be for
 * another controller.
 */
public final class KubernetesReferenceGrantParser {
    /** The kinds istiod reads a grant from (of the Gateway API's group). */
    static final Set<String> FROM_KINDS = Set.of("Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute");
    /** The kinds istiod reads a grant to (of the core group). */
    static final Set<String> TO_KINDS = Set.of("Secret", "Service");

    private KubernetesReferenceGrantParser() {
    }

    public static KubernetesReferenceGrant parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("from", "to");
        List<KubernetesReferenceGrant.From> from = new ArrayList<>();
        for (SpecReader f : entries(r, "from")) {
            f.allow("group", "kind", "namespace");
            String group = group(f);
            String kind = f.requiredString("kind");
            String namespace = f.requiredString("namespace");
            if (kind != null && !kind.isEmpty() && (!Kind.GATEWAY_API.equals(group) || !FROM_KINDS.contains(kind))) {
                p.warn(f.path(), "references from group \"" + group + "\" kind " + kind + " are not read by this mesh"
                        + " (it reads them from the Gateway API's " + String.join(", ", new java.util.TreeSet<>(
                                FROM_KINDS)) + ")");
            }
            from.add(new KubernetesReferenceGrant.From(group, kind == null ? "" : kind,
                    namespace == null ? "" : namespace));
        }
        List<KubernetesReferenceGrant.To> to = new ArrayList<>();
        for (SpecReader t : entries(r, "to")) {
            t.allow("group", "kind", "name");
            String group = group(t);
            String kind = t.requiredString("kind");
            String name = t.string("name");
            if (name != null && name.isEmpty()) {
                p.error(t.at("name"), "must not be empty; leave it out to allow every " + kind);
            }
            if (kind != null && !kind.isEmpty() && (!group.isEmpty() || !TO_KINDS.contains(kind))) {
                p.warn(t.path(), "references to group \"" + group + "\" kind " + kind + " are not read by this mesh"
                        + " (it reads them to a Secret or a Service)");
            }
            to.add(new KubernetesReferenceGrant.To(group, kind == null ? "" : kind, name));
        }
        return new KubernetesReferenceGrant(raw.namespace(), raw.name(), from, to);
    }

    /** The 1 to 16 entries of {@code from} or {@code to}. */
    static List<SpecReader> entries(SpecReader r, String field) {
        List<SpecReader> list = r.list(field);
        if (list.isEmpty()) {
            r.problems().error(r.at(field), "at least one entry is required");
        } else if (list.size() > 16) {
            r.problems().error(r.at(field), "at most 16 entries are allowed, got " + list.size());
        }
        return list;
    }

    /** {@code group}: required, and "" is the core API group. */
    static String group(SpecReader s) {
        String group = s.string("group");
        if (group == null) {
            s.problems().error(s.at("group"), "is required (\"\" for the core API group)");
            return "";
        }
        return group;
    }
}
