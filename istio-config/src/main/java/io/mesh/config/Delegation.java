package io.mesh.config;

import io.mesh.config.VirtualService.HttpRoute;
import io.mesh.config.VirtualService.Match;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Istio's VirtualService delegation: a root VirtualService's http route with {@code delegate} stands for the routes
 * of a delegate VirtualService (one without hosts), which a team may own in its own namespace. Each delegate route is
 * merged with the root route as istiod merges them:
 * <ul>
 * <li>matches: every root match with every delegate match that fits inside it (a delegate uri within the root's
 * prefix, headers and other conditions not contradicting the root's), the two merged; a delegate route that fits
 * no root match is left out;</li>
 * <li>the delegate route's own rewrite, timeout, retries, fault, mirrors, CORS policy and headers, else the
 * root route's;</li>
 * <li>destinations resolved in the delegate's namespace.</li>
 * </ul>
 * A delegate that does not exist, or is not exported to the root's namespace, leaves the root route out.
 */
public final class Delegation {
    private Delegation() {
    }

    /**
     * The VirtualServices with every root's delegating routes replaced by the merged delegate routes. What is
     * left out, and why, is added to {@code warnings}.
     */
    public static List<VirtualService> expand(List<VirtualService> all, List<String> warnings) {
        Map<String, VirtualService> delegates = new HashMap<>();
        for (VirtualService vs : all) {
            if (vs.hosts().isEmpty()) {
                delegates.put(vs.namespace() + "/" + vs.name(), vs);
            }
        }
        List<VirtualService> out = new ArrayList<>(all.size());
        for (VirtualService vs : all) {
            if (vs.hosts().isEmpty() || vs.http().stream().allMatch(h -> h.delegate() == null)) {
                out.add(vs);
                continue;
            }
            List<HttpRoute> http = new ArrayList<>();
            for (int i = 0; i < vs.http().size(); i++) {
                HttpRoute root = vs.http().get(i);
                if (root.delegate() == null) {
                    http.add(root);
                    continue;
                }
                String ns = root.delegate().namespace() != null ? root.delegate().namespace() : vs.namespace();
                String where = "VirtualService " + vs.namespace() + "/" + vs.name() + ": http[" + i + "]";
                VirtualService d = delegates.get(ns + "/" + root.delegate().name());
                if (d == null) {
                    warnings.add(where + " delegates to " + ns + "/" + root.delegate().name() + ", which is not a"
                            + " delegate VirtualService (none without hosts by that name); the route is left out");
                    continue;
                }
                if (!ExportTo.visible(d.exportTo(), d.namespace(), vs.namespace())) {
                    warnings.add(where + " delegates to " + ns + "/" + d.name() + ", which is not exported to namespace "
                            + vs.namespace() + "; the route is left out");
                    continue;
                }
                for (int j = 0; j < d.http().size(); j++) {
                    HttpRoute merged = merge(root, d.http().get(j), d.namespace());
                    if (merged == null) {
                        warnings.add(where + ": route http[" + j + "] of delegate " + d.namespace() + "/" + d.name()
                                + " matches nothing within the root route's match; it is left out");
                    } else {
                        http.add(merged);
                    }
                }
            }
            out.add(new VirtualService(vs.namespace(), vs.name(), vs.hosts(), vs.gateways(), http, vs.tls(), vs.tcp(),
                    vs.exportTo(), vs.created(), vs.gatewaySemantics()));
        }
        return out;
    }

    /** istiod's mergeHTTPRoute; null when no delegate match fits a root match. */
    static HttpRoute merge(HttpRoute root, HttpRoute leaf, String leafNamespace) {
        List<Match> matches = mergeMatches(root.match(), leaf.match());
        if (matches == null) {
            return null;
        }
        String name = leaf.name() == null ? root.name() : root.name() == null ? leaf.name() : root.name() + "-" + leaf.name();
        List<VirtualService.RouteDestination> destinations = leaf.route().stream()
                .map(d -> new VirtualService.RouteDestination(resolved(d.destination(), leafNamespace), d.weight(),
                        d.headers())).toList();
        List<VirtualService.Mirror> mirrors = leaf.mirrors().isEmpty() ? root.mirrors() : leaf.mirrors().stream()
                .map(m -> new VirtualService.Mirror(resolved(m.destination(), leafNamespace), m.percent())).toList();
        return new HttpRoute(name, matches, destinations, leaf.redirect(), leaf.directResponse(),
                leaf.rewrite() != null ? leaf.rewrite() : root.rewrite(),
                leaf.timeout() != null ? leaf.timeout() : root.timeout(),
                leaf.retries() != null ? leaf.retries() : root.retries(),
                leaf.fault() != null ? leaf.fault() : root.fault(), mirrors,
                leaf.headers().isEmpty() ? root.headers() : leaf.headers(),
                leaf.cors() != null ? leaf.cors() : root.cors(), null);
    }

    private static VirtualService.Destination resolved(VirtualService.Destination d, String namespace) {
        return new VirtualService.Destination(Hosts.resolve(d.host(), namespace), d.subset(), d.port());
    }

    /** istiod's mergeHTTPMatchRequests: no match on either side is a catch-all; null when nothing fits. */
    static List<Match> mergeMatches(List<Match> root, List<Match> leaf) {
        if (leaf.isEmpty()) {
            return root;
        }
        if (root.isEmpty()) {
            return leaf;
        }
        List<Match> out = new ArrayList<>();
        for (Match r : root) {
            for (Match l : leaf) {
                if (!conflict(r, l)) {
                    out.add(merge(r, l));
                }
            }
        }
        return out.isEmpty() ? null : out;
    }

    private static Match merge(Match root, Match leaf) {
        String name = leaf.name() == null ? root.name() : root.name() == null ? leaf.name() : root.name() + "-" + leaf.name();
        Map<String, String> labels = new LinkedHashMap<>(root.sourceLabels());
        labels.putAll(leaf.sourceLabels());
        return new Match(name, or(leaf.uri(), root.uri()), or(leaf.scheme(), root.scheme()),
                or(leaf.method(), root.method()), or(leaf.authority(), root.authority()),
                union(root.headers(), leaf.headers()), union(root.withoutHeaders(), leaf.withoutHeaders()),
                union(root.queryParams(), leaf.queryParams()), leaf.port() != null ? leaf.port() : root.port(),
                leaf.ignoreUriCase(), leaf.gateways().isEmpty() ? root.gateways() : leaf.gateways(), labels,
                leaf.sourceNamespace() != null ? leaf.sourceNamespace() : root.sourceNamespace());
    }

    /** istiod's hasConflict: does the delegate match ask for something the root match excludes? */
    static boolean conflict(Match root, Match leaf) {
        if (conflict(root.uri(), leaf.uri()) || conflict(root.scheme(), leaf.scheme())
                || conflict(root.method(), leaf.method()) || conflict(root.authority(), leaf.authority())) {
            return true;
        }
        for (var e : leaf.headers().entrySet()) {
            if (conflict(root.headers().get(e.getKey()), e.getValue())) {
                return true;
            }
        }
        for (var e : leaf.withoutHeaders().entrySet()) {
            if (conflict(root.withoutHeaders().get(e.getKey()), e.getValue())) {
                return true;
            }
        }
        for (var e : leaf.queryParams().entrySet()) {
            if (conflict(root.queryParams().get(e.getKey()), e.getValue())) {
                return true;
            }
        }
        if (root.ignoreUriCase() != leaf.ignoreUriCase()) {
            return true;
        }
        if (root.port() != null && leaf.port() != null && !root.port().equals(leaf.port())) {
            return true;
        }
        if (root.sourceNamespace() != null && !root.sourceNamespace().equals(leaf.sourceNamespace())) {
            return true;
        }
        for (var e : leaf.sourceLabels().entrySet()) {
            String r = root.sourceLabels().get(e.getKey());
            if (r != null && !r.equals(e.getValue())) {
                return true;
            }
        }
        return !root.gateways().containsAll(leaf.gateways());
    }

    /**
     * istiod's stringMatchConflict: none on a side that sets nothing; a regex on either side allows nothing on the
     * other; an exact root allows only the same exact value; a prefix root allows a prefix or exact value under it.
     */
    static boolean conflict(StringMatch root, StringMatch leaf) {
        if (root == null || leaf == null) {
            return false;
        }
        if (root.type() == StringMatch.Type.REGEX || leaf.type() == StringMatch.Type.REGEX) {
            return true;
        }
        return switch (root.type()) {
            case EXACT -> leaf.type() != StringMatch.Type.EXACT || !leaf.value().equals(root.value());
            case PREFIX -> leaf.type() == StringMatch.Type.PRESENT || !leaf.value().startsWith(root.value());
            default -> true;
        };
    }

    private static StringMatch or(StringMatch a, StringMatch b) {
        return a != null ? a : b;
    }

    private static Map<String, StringMatch> union(Map<String, StringMatch> root, Map<String, StringMatch> leaf) {
        Map<String, StringMatch> out = new LinkedHashMap<>(root);
        out.putAll(leaf);
        return out;
    }
}
