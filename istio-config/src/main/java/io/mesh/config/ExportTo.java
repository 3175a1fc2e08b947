package io.mesh.config;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code exportTo}: the namespaces whose proxies see a VirtualService, DestinationRule, ServiceEntry or
 * Service. No value means every namespace ({@code "*"}); {@code "."} is the resource's own namespace; other values
 * name namespaces; a ServiceEntry may say {@code "~"}, no namespace.
 *
 * <p>Where several resources claim one host, Istio prefers the narrower one: for a proxy in namespace N, a resource
 * private to N first, then one exported to N by name, then a public one ({@link Scope}).
 */
public final class ExportTo {

    /** How a proxy's namespace sees a resource, in Istio's order of preference. */
    public enum Scope {
        /** Exported to its own namespace only, and the proxy is in it. */
        PRIVATE,
        /** Exported to a list of namespaces that holds the proxy's. */
        EXPORTED,
        /** Exported to every namespace (no exportTo, or "*"). */
        PUBLIC
    }

    private ExportTo() {
    }

    /** How a proxy in {@code namespace} sees a resource of {@code owner} with these exportTo values; null: not at all. */
    public static Scope scope(List<String> exportTo, String owner, String namespace) {
        if (exportTo.isEmpty() || exportTo.contains("*")) {
            return Scope.PUBLIC;
        }
        Set<String> to = namespaces(exportTo, owner);
        if (!to.contains(namespace)) {
            return null;
        }
        return to.size() == 1 ? Scope.PRIVATE : Scope.EXPORTED;
    }

    public static boolean visible(List<String> exportTo, String owner, String namespace) {
        return scope(exportTo, owner, namespace) != null;
    }

    /**
     * Whether two resources compete for the same proxies with the same preference: both public, both private to one
     * namespace, or both exported to lists that share a namespace. A narrower one where a wider one is also seen is
     * not a conflict: it overrides the wider one there (Istio's consumer override).
     */
    public static boolean sameScope(List<String> a, String ownerA, List<String> b, String ownerB) {
        boolean publicA = a.isEmpty() || a.contains("*");
        boolean publicB = b.isEmpty() || b.contains("*");
        if (publicA || publicB) {
            return publicA && publicB;
        }
        Set<String> toA = namespaces(a, ownerA);
        Set<String> toB = namespaces(b, ownerB);
        if (toA.size() == 1 || toB.size() == 1) {
            return toA.size() == 1 && toA.equals(toB);
        }
        return toA.stream().anyMatch(toB::contains);
    }

    /** The namespaces named, with "." as the owner's; "~" names none. */
    private static Set<String> namespaces(List<String> exportTo, String owner) {
        Set<String> out = new HashSet<>();
        for (String e : exportTo) {
            if (!e.equals("~")) {
                out.add(e.equals(".") ? owner : e);
            }
        }
        return out;
    }

    /**
     * Reads and checks {@code spec.exportTo} as Istio validates it: ".", "*", or namespace names, each once ("." and
     * the resource's own namespace are the same entry); "*" alone; "~" only on a ServiceEntry, and alone.
     */
    static List<String> read(SpecReader spec, String namespace, boolean serviceEntry) {
        List<String> values = spec.strings("exportTo");
        Problems p = spec.problems();
        Map<String, String> seen = new HashMap<>();
        for (int i = 0; i < values.size(); i++) {
            String e = values.get(i);
            String at = spec.at("exportTo") + "[" + i + "]";
            String key = e.equals(".") ? namespace : e;
            String before = seen.putIfAbsent(key, e);
            if (before != null) {
                p.error(at, before.equals(e) ? "duplicate entry \"" + e + "\""
                        : "duplicate entry: \".\" and the current namespace \"" + namespace + "\" are the same");
            } else if (e.equals("~") && !serviceEntry) {
                p.error(at, "\"~\" (no namespace) is allowed only on a ServiceEntry");
            } else if (!e.equals(".") && !e.equals("*") && !e.equals("~") && !Hosts.isNamespace(e)) {
                p.error(at, "\"" + e + "\" is not \".\", \"*\" or a namespace name (RFC 1123 label: lower-case letters,"
                        + " digits and '-', at most 63)");
            }
        }
        if (values.size() > 1 && values.contains("*")) {
            p.error(spec.at("exportTo"), "cannot have both public (\"*\") and other exportTo values");
        }
        if (values.size() > 1 && values.contains("~")) {
            p.error(spec.at("exportTo"), "cannot export to no namespace (\"~\") and to some");
        }
        return values;
    }
}
