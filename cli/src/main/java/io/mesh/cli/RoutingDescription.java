package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The DestinationRule and VirtualService parts of {@code meshctl x describe}, in istioctl's words and layout
 * ({@code printDestinationRule}, {@code printVirtualService}): which subsets the pods match, the traffic policy's TLS
 * mode and policies, and what each route does for the service. Resources are Kubernetes objects as JSON; which ones
 * apply comes from the proxy's config ({@link #configOf}), as istioctl reads it from Envoy's.
 */
final class RoutingDescription {

    private static final String LEVEL1 = "   ";
    private static final String LEVEL2 = "      ";

    private RoutingDescription() {
    }

    /** Namespace and name of the resource that a route's or cluster's {@code istio.config} metadata names, or null. */
    static String[] configOf(JsonNode routeOrCluster) {
        String config = routeOrCluster.path("metadata").path("filterMetadata").path("istio").path("config").asText("");
        String[] parts = config.split("/");
        // /apis/GROUP/VERSION/namespaces/NS/KIND/NAME
        return parts.length == 8 && parts[4].equals("namespaces") ? new String[] {parts[5], parts[7]} : null;
    }

    /** The outbound cluster of the service's port (no subset), as the proxy has it; null when it has none. */
    static JsonNode cluster(JsonNode dump, String host, int port) {
        for (JsonNode c : dump.path("clusters")) {
            if (c.path("name").asText().equals("outbound|" + port + "||" + host)) {
                return c;
            }
        }
        return null;
    }

    /** The first route the proxy has for the service's port that comes from a VirtualService, or null. */
    static JsonNode route(JsonNode dump, String host, int port) {
        for (JsonNode rc : dump.path("routes")) {
            for (JsonNode vh : rc.path("virtualHosts")) {
                boolean forService = false;
                for (JsonNode d : vh.path("domains")) {
                    forService |= d.asText().equals(host) || d.asText().equals(host + ":" + port);
                }
                for (JsonNode r : vh.path("routes")) {
                    if (configOf(r) != null && (forService || sendsTo(r, host, port))) {
                        return r;
                    }
                }
            }
        }
        return null;
    }

    private static boolean sendsTo(JsonNode route, String host, int port) {
        String prefix = "outbound|" + port + "|";
        String suffix = "|" + host;
        JsonNode action = route.path("route");
        List<String> clusters = new ArrayList<>();
        if (action.has("cluster")) {
            clusters.add(action.path("cluster").asText());
        }
        action.path("weightedClusters").path("clusters").forEach(c -> clusters.add(c.path("name").asText()));
        return clusters.stream().anyMatch(c -> c.startsWith(prefix) && c.endsWith(suffix));
    }

    /** Subset names whose labels match at least one of the pods, then those that match none. */
    static List<List<String>> subsets(JsonNode dr, List<Map<String, String>> pods) {
        List<String> matching = new ArrayList<>();
        List<String> other = new ArrayList<>();
        for (JsonNode s : dr.path("spec").path("subsets")) {
            boolean any = pods.stream().anyMatch(labels -> selects(s.path("labels"), labels));
            (any ? matching : other).add(s.path("name").asText());
        }
        return List.of(matching, other);
    }

    /**
     * Whether {@code labels} have every label of {@code selector} (a JSON object of strings: a DestinationRule subset's
     * labels, a Gateway's selector) with its value; an empty or missing selector selects everything.
     */
    static boolean selects(JsonNode selector, Map<String, String> labels) {
        var it = selector.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().asText().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    static void printDestinationRule(JsonNode dr, List<Map<String, String>> pods, String describing, String indent,
            PrintWriter out) {
        JsonNode meta = dr.path("metadata");
        JsonNode spec = dr.path("spec");
        out.println(indent + "DestinationRule: " + PodDescription.kname(meta.path("name").asText(),
                meta.path("namespace").asText(), describing) + " for \"" + spec.path("host").asText() + "\"");
        List<List<String>> subsets = subsets(dr, pods);
        if (!subsets.get(0).isEmpty() || !subsets.get(1).isEmpty()) {
            if (subsets.get(0).isEmpty()) {
                out.println(indent + LEVEL1 + "WARNING POD DOES NOT MATCH ANY SUBSETS.  (Non matching subsets "
                        + String.join(",", subsets.get(1)) + ")");
            }
            out.println(indent + LEVEL1 + "Matching subsets: " + String.join(",", subsets.get(0)));
            if (!subsets.get(1).isEmpty()) {
                out.println(indent + LEVEL2 + "(Non-matching subsets " + String.join(",", subsets.get(1)) + ")");
            }
        }
        JsonNode policy = spec.path("trafficPolicy");
        if (policy.isMissingNode() || policy.isNull()) {
            out.println(indent + LEVEL1 + "No Traffic Policy");
            return;
        }
        if (policy.has("tls")) {
            out.println(indent + LEVEL1 + "Traffic Policy TLS Mode: " + policy.path("tls").path("mode").asText("DISABLE"));
        }
        String policies = policies(policy);
        if (!policies.isEmpty()) {
            out.println(indent + LEVEL1 + policies);
        }
        if (policy.has("portLevelSettings")) {
            out.println(indent + LEVEL1 + "Port Level Settings:");
            for (JsonNode ps : policy.path("portLevelSettings")) {
                out.println("    " + ps.path("port").path("number").asInt() + ":");
                if (ps.has("tls")) {
                    out.println(indent + LEVEL2 + "TLS Mode: " + ps.path("tls").path("mode").asText("DISABLE"));
                }
                String p = policies(ps);
                if (!p.isEmpty()) {
                    out.println(indent + LEVEL2 + p);
                }
            }
        }
    }

    private static String policies(JsonNode policy) {
        List<String> extra = new ArrayList<>();
        if (policy.has("loadBalancer")) {
            extra.add("load balancer");
        }
        if (policy.has("connectionPool")) {
            extra.add("connection pool");
        }
        if (policy.has("outlierDetection")) {
            extra.add("outlier detection");
        }
        return extra.isEmpty() ? "" : "Policies: " + String.join("/", extra);
    }

    /**
     * A destination host as istioctl compares it with the service: a short name in the VirtualService's namespace
     * (istiod's ResolveShortnameToFQDN), then ".svc.cluster.local" added when missing (istioctl's extendFQDN).
     */
    static String fqdn(String host, String namespace) {
        if (host.startsWith("*")) {
            return host;
        }
        String out = host.contains(".") ? host : host + "." + namespace;
        return out.endsWith(".svc.cluster.local") ? out : out + ".svc.cluster.local";
    }

    /**
     * istioctl's {@code printVirtualService}: the routes that reach the service, with their weights and match
     * conditions, warnings when none reaches these pods' subsets, and how many routes go elsewhere.
     */
    static void printVirtualService(JsonNode vs, String serviceHost, List<String> matching, List<String> nonMatching,
            JsonNode dr, String describing, String indent, PrintWriter out) {
        JsonNode meta = vs.path("metadata");
        String namespace = meta.path("namespace").asText();
        out.println(indent + "VirtualService: " + PodDescription.kname(meta.path("name").asText(), namespace, describing));
        JsonNode spec = vs.path("spec");
        int matches = 0;
        int facts = 0;
        List<String> mismatches = new ArrayList<>();
        for (JsonNode http : spec.path("http")) {
            VsRouteFacts f = VsRouteFacts.http(http, namespace, serviceHost, matching, nonMatching, dr);
            if (f.matched()) {
                matches++;
                for (String fact : f.facts()) {
                    out.println(indent + LEVEL1 + fact);
                    facts++;
                }
            } else {
                mismatches.addAll(f.facts());
            }
        }
        for (JsonNode tcp : spec.path("tcp")) {
            VsRouteFacts f = VsRouteFacts.tcp(tcp, namespace, serviceHost);
            if (f.matched()) {
                matches++;
                for (String fact : f.facts()) {
                    out.println(indent + LEVEL1 + fact);
                    facts++;
                }
            }
        }
        int http = spec.path("http").size();
        int tcp = spec.path("tcp").size();
        if (matches == 0) {
            if (http > 0) {
                out.println(indent + LEVEL1 + "WARNING: No destinations match pod subsets (checked " + http + " HTTP routes)");
            }
            if (tcp > 0) {
                out.println(indent + LEVEL1 + "WARNING: No destinations match pod subsets (checked " + tcp + " TCP routes)");
            }
            mismatches.forEach(m -> out.println(indent + LEVEL2 + m));
            return;
        }
        int possible = http + spec.path("tls").size() + tcp;
        if (matches < possible) {
            out.println(indent + LEVEL1 + (possible - matches) + " additional destination(s) that will not reach this pod");
            if (facts == 0) {
                mismatches.forEach(m -> out.println(indent + LEVEL2 + m));
            }
            return;
        }
        if (facts == 0) {
            if (http > 0) {
                out.println(indent + LEVEL1 + http + " HTTP route(s)");
            }
            if (tcp > 0) {
                out.println(indent + LEVEL1 + tcp + " TCP route(s)");
            }
        }
    }
}
