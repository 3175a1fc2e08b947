package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * What one VirtualService route does for a service, in istioctl describe's words ({@code httpRouteMatchSvc},
 * {@code tcpRouteMatchSvc}): whether it reaches the service's pods, and the facts worth printing (destinations and
 * their weights, fault injection, match conditions), or why it does not reach them.
 */
record VsRouteFacts(boolean matched, List<String> facts) {

    static VsRouteFacts http(JsonNode route, String vsNamespace, String serviceHost, List<String> matching,
            List<String> nonMatching, JsonNode dr) {
        List<String> facts = new ArrayList<>();
        List<String> mismatches = new ArrayList<>();
        boolean match = false;
        for (JsonNode d : route.path("route")) {
            JsonNode dest = d.path("destination");
            String host = dest.path("host").asText();
            String subset = dest.path("subset").asText("");
            int weight = d.path("weight").asInt(0);
            if (RoutingDescription.fqdn(host, vsNamespace).equals(serviceHost)) {
                if (!subset.isEmpty()) {
                    if (nonMatching.contains(subset)) {
                        mismatches.add("Route to non-matching subset " + subset + " for (" + matches(route.path("match")) + ")");
                        continue;
                    }
                    if (!matching.contains(subset)) {
                        mismatches.add(dr == null ? "Warning: Route to subset " + subset + " but NO DESTINATION RULE defining subsets!"
                                : "Warning: Route to UNKNOWN subset " + subset + "; check DestinationRule "
                                        + dr.path("metadata").path("name").asText() + "." + dr.path("metadata").path("namespace").asText());
                        continue;
                    }
                }
                match = true;
                if (weight > 0) {
                    facts.add("Route to host \"" + host + "\"" + (subset.isEmpty() ? "" : " subset \"" + subset + "\"")
                            + " with weight " + weight + "%");
                }
            } else if (subset.isEmpty()) {
                facts.add("Route to host \"" + host + "\" with weight " + weight + "%");
            } else {
                facts.add("Route to " + host + " with invalid config");
            }
        }
        if (match) {
            List<String> conditions = new ArrayList<>();
            if (route.has("fault")) {
                conditions.add("Fault injection " + fault(route.path("fault")));
            }
            for (JsonNode m : route.path("match")) {
                conditions.add(match(m));
            }
            if (!conditions.isEmpty()) {
                facts.add(String.join(", ", conditions));
            }
            return new VsRouteFacts(true, facts);
        }
        if (!mismatches.isEmpty()) {
            facts.addAll(mismatches);
        }
        return new VsRouteFacts(false, facts);
    }

    static VsRouteFacts tcp(JsonNode route, String vsNamespace, String serviceHost) {
        boolean match = false;
        for (JsonNode d : route.path("route")) {
            match |= RoutingDescription.fqdn(d.path("destination").path("host").asText(), vsNamespace).equals(serviceHost);
        }
        List<String> facts = new ArrayList<>();
        if (match) {
            route.path("match").forEach(m -> facts.add(m.toString()));
        }
        return new VsRouteFacts(match, facts);
    }

    private static String fault(JsonNode fault) {
        List<String> parts = new ArrayList<>();
        if (fault.has("delay")) {
            parts.add("delay " + fault.path("delay").path("fixedDelay").asText("") + " for "
                    + fault.path("delay").path("percentage").path("value").asText("100") + "%");
        }
        if (fault.has("abort")) {
            parts.add("abort " + fault.path("abort").path("httpStatus").asText("") + " for "
                    + fault.path("abort").path("percentage").path("value").asText("100") + "%");
        }
        return String.join(" and ", parts);
    }

    static String matches(JsonNode matches) {
        if (matches.isEmpty()) {
            return "everything";
        }
        List<String> out = new ArrayList<>();
        matches.forEach(m -> out.add(match(m)));
        return String.join(", ", out);
    }

    /** istioctl's renderMatch: "Match: " with the URI and the header conditions. */
    static String match(JsonNode m) {
        StringBuilder s = new StringBuilder("Match: ");
        if (m.has("uri")) {
            s.append(string(m.path("uri")));
            if (m.path("ignoreUriCase").asBoolean(false)) {
                s.append(" uncased");
            }
        }
        if (m.has("headers")) {
            List<String> conditions = new ArrayList<>();
            m.path("headers").fields().forEachRemaining(e -> conditions.add(e.getKey() + "=" + string(e.getValue())));
            s.append(" when headers are ").append(String.join("; ", conditions));
        }
        return s.toString().strip();
    }

    /** istioctl's renderStringMatch: exact as is, a prefix with "*", a regex as its expression. */
    static String string(JsonNode sm) {
        if (sm.has("exact")) {
            return sm.path("exact").asText();
        }
        if (sm.has("prefix")) {
            return sm.path("prefix").asText() + "*";
        }
        if (sm.has("regex")) {
            return "regex:" + sm.path("regex").asText();
        }
        return sm.toString();
    }
}
