package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A proxy's effective xDS config, from pilot's {@code /debug/config_dump?proxyID=} (Envoy v3 resources in
 * protobuf's JSON mapping), as the rows {@code istioctl proxy-config} shows.
 */
final class ProxyConfig {

    enum Kind { routes, clusters, listeners, endpoints }

    record RouteRow(String name, String vhostName, String domains, String match, String virtualService, String destination) {
        List<String> cells() {
            return List.of(name, vhostName, domains, match, virtualService, destination);
        }
    }

    record ClusterRow(String serviceFqdn, String port, String subset, String direction, String type, String destinationRule) {
        List<String> cells() {
            return List.of(serviceFqdn, port, subset, direction, type, destinationRule);
        }
    }

    record ListenerRow(String address, String port, String match, String destination) {
        List<String> cells() {
            return List.of(address, port, match, destination);
        }
    }

    record EndpointRow(String endpoint, String status, String outlierCheck, String cluster) {
        List<String> cells() {
            return List.of(endpoint, status, outlierCheck, cluster);
        }
    }

    static final List<String> ROUTE_COLUMNS = List.of("NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE", "DESTINATION");
    static final List<String> CLUSTER_COLUMNS = List.of("SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE");
    static final List<String> LISTENER_COLUMNS = List.of("ADDRESS", "PORT", "MATCH", "DESTINATION");
    static final List<String> ENDPOINT_COLUMNS = List.of("ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER");

    private static final String HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    private static final String TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

    private ProxyConfig() {
    }

    /**
     * The gateway admin's {@code /config_dump} (what the proxy accepted, by resource type) in the shape of pilot's
     * dump, so the same tables read both.
     */
    static JsonNode fromAdmin(JsonNode admin, String proxyId, String type) {
        com.fasterxml.jackson.databind.node.ObjectNode dump = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        dump.put("proxyID", proxyId).put("type", type);
        JsonNode resources = admin.path("dynamic_resources");
        dump.set("listeners", array(resources.path("Listener")));
        dump.set("routes", array(resources.path("RouteConfiguration")));
        dump.set("clusters", array(resources.path("Cluster")));
        dump.set("endpoints", array(resources.path("ClusterLoadAssignment")));
        return dump;
    }

    private static JsonNode array(JsonNode node) {
        return node.isArray() ? node : com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
    }

    // ------------------------------------------------------------------------------------------------ routes

    /** One row per route of each virtual host, in the order the proxy matches them. */
    static List<RouteRow> routes(JsonNode dump) {
        List<RouteRow> rows = new ArrayList<>();
        for (JsonNode config : dump.path("routes")) {
            String name = config.path("name").asText();
            for (JsonNode vhost : config.path("virtualHosts")) {
                String vhostName = vhost.path("name").asText();
                String domains = domains(vhost.path("domains"));
                for (JsonNode route : vhost.path("routes")) {
                    rows.add(new RouteRow(name, vhostName, domains, match(route.path("match")),
                            virtualService(route, vhostName), destination(route)));
                }
            }
        }
        return rows;
    }

    /** Domains without their "host:port" twins, at most three shown. */
    static String domains(JsonNode domains) {
        Set<String> all = new LinkedHashSet<>();
        domains.forEach(d -> all.add(d.asText()));
        List<String> shown = all.stream().filter(d -> {
            int colon = d.lastIndexOf(':');
            return colon < 0 || !all.contains(d.substring(0, colon)) || !d.substring(colon + 1).matches("\\d+");
        }).toList();
        if (shown.size() > 3) {
            return String.join(", ", shown.subList(0, 3)) + " + " + (shown.size() - 3) + " more";
        }
        return shown.isEmpty() ? "-" : String.join(", ", shown);
    }

    /** As istioctl writes it: a prefix ends in "*", an exact path is itself, a regex is shown as is. */
    static String match(JsonNode match) {
        String path;
        if (match.has("prefix")) {
            path = match.path("prefix").asText() + "*";
        } else if (match.has("path")) {
            path = match.path("path").asText();
        } else if (match.has("safeRegex")) {
            path = match.path("safeRegex").path("regex").asText();
        } else if (match.has("pathSeparatedPrefix")) {
            path = match.path("pathSeparatedPrefix").asText() + "/*";
        } else {
            path = "/*";
        }
        int headers = match.path("headers").size() + match.path("queryParameters").size();
        return headers == 0 ? path : path + " +" + headers + (headers == 1 ? " condition" : " conditions");
    }

    /**
     * "name.namespace" of the VirtualService the route comes from: Istio's route metadata when present, else pilot's
     * names ("namespace/name" for a route, "namespace/name:port" for a gateway's virtual host).
     */
    static String virtualService(JsonNode route, String vhostName) {
        String config = route.path("metadata").path("filterMetadata").path("istio").path("config").asText("");
        if (!config.isEmpty()) {
            String[] parts = config.split("/");
            if (parts.length >= 2) {
                return parts[parts.length - 1] + "." + (parts.length >= 4 ? parts[parts.length - 3] : "");
            }
        }
        String name = route.path("name").asText("");
        if (name.matches("[a-z0-9.-]+/[a-z0-9.-]+")) {
            return name.substring(name.indexOf('/') + 1) + "." + name.substring(0, name.indexOf('/'));
        }
        if (vhostName.matches("[a-z0-9.-]+/[a-z0-9.-]+:\\d+")) {
            String vs = vhostName.substring(0, vhostName.lastIndexOf(':'));
            return vs.substring(vs.indexOf('/') + 1) + "." + vs.substring(0, vs.indexOf('/'));
        }
        return "-";
    }

    /** Where the route sends requests: a cluster, weighted clusters with their share, a redirect or a direct response. */
    static String destination(JsonNode route) {
        JsonNode action = route.path("route");
        if (action.has("cluster")) {
            return service(action.path("cluster").asText());
        }
        if (action.has("weightedClusters")) {
            List<String> parts = new ArrayList<>();
            long total = 0;
            for (JsonNode cluster : action.path("weightedClusters").path("clusters")) {
                total += cluster.path("weight").asLong();
            }
            for (JsonNode cluster : action.path("weightedClusters").path("clusters")) {
                long weight = cluster.path("weight").asLong();
                parts.add(service(cluster.path("name").asText()) + " " + (total > 0 ? Math.round(weight * 100.0 / total) : 0) + "%");
            }
            return String.join(", ", parts);
        }
        if (action.has("clusterHeader")) {
            return "cluster from header " + action.path("clusterHeader").asText();
        }
        if (route.has("redirect")) {
            JsonNode redirect = route.path("redirect");
            String target = redirect.path("hostRedirect").asText("") + redirect.path("pathRedirect").asText("");
            return "redirect" + (target.isEmpty() ? "" : " " + target);
        }
        if (route.has("directResponse")) {
            return "direct response " + route.path("directResponse").path("status").asText();
        }
        return "-";
    }

    /** outbound|80|v1|reviews.default.svc.cluster.local is shown as reviews.default.svc.cluster.local:80|v1. */
    static String service(String cluster) {
        String[] parts = cluster.split("\\|", -1);
        if (parts.length == 4 && parts[0].equals("outbound") && !parts[3].isEmpty()) {
            return parts[3] + ":" + parts[1] + (parts[2].isEmpty() ? "" : "|" + parts[2]);
        }
        return cluster;
    }

    // ---------------------------------------------------------------------------------------------- clusters

    static List<ClusterRow> clusters(JsonNode dump) {
        List<ClusterRow> rows = new ArrayList<>();
        for (JsonNode cluster : dump.path("clusters")) {
            String name = cluster.path("name").asText();
            String[] parts = name.split("\\|", -1);
            String fqdn = name;
            String port = "-";
            String subset = "-";
            String direction = "-";
            if (parts.length == 4 && (parts[0].equals("outbound") || parts[0].equals("inbound"))) {
                fqdn = parts[3];
                port = parts[1];
                subset = parts[2].isEmpty() ? "-" : parts[2];
                direction = parts[0];
            }
            // protobuf's JSON leaves out a default enum: no "type" is STATIC.
            String type = cluster.has("clusterType") ? cluster.path("clusterType").path("name").asText()
                    : cluster.path("type").asText("STATIC");
            String config = cluster.path("metadata").path("filterMetadata").path("istio").path("config").asText("");
            String rule = "-";
            if (!config.isEmpty()) {
                String[] path = config.split("/");
                rule = path[path.length - 1] + (path.length >= 4 ? "." + path[path.length - 3] : "");
            }
            rows.add(new ClusterRow(fqdn, port, subset, direction, type, rule));
        }
        rows.sort(Comparator.comparing(ClusterRow::serviceFqdn).thenComparing(r -> r.port().length())
                .thenComparing(ClusterRow::port).thenComparing(ClusterRow::subset).thenComparing(ClusterRow::direction));
        return rows;
    }

    // --------------------------------------------------------------------------------------------- listeners

    /** One row per filter chain (and the default chain), with what it matches and where it sends traffic. */
    static List<ListenerRow> listeners(JsonNode dump) {
        List<ListenerRow> rows = new ArrayList<>();
        for (JsonNode listener : dump.path("listeners")) {
            JsonNode socket = listener.path("address").path("socketAddress");
            String address = socket.path("address").asText("-");
            String port = socket.has("portValue") ? socket.path("portValue").asText() : "-";
            if (listener.has("apiListener")) {
                // A proxyless gRPC client's listener: its name is the target, its HCM the routes.
                rows.add(new ListenerRow(listener.path("name").asText(), "-", "ALL",
                        filterDestination(listener.path("apiListener").path("apiListener"))));
                continue;
            }
            for (JsonNode chain : listener.path("filterChains")) {
                rows.add(new ListenerRow(address, port, chainMatch(chain.path("filterChainMatch")), chainDestination(chain)));
            }
            if (listener.has("defaultFilterChain")) {
                rows.add(new ListenerRow(address, port, "ALL (default)", chainDestination(listener.path("defaultFilterChain"))));
            }
            if (!listener.has("filterChains") && !listener.has("defaultFilterChain")) {
                rows.add(new ListenerRow(address, port, "-", "-"));
            }
        }
        return rows;
    }

    static String chainMatch(JsonNode match) {
        List<String> parts = new ArrayList<>();
        if (match.has("serverNames")) {
            parts.add("SNI: " + join(match.path("serverNames")));
        }
        if (match.has("destinationPort")) {
            parts.add("Port: " + match.path("destinationPort").asText());
        }
        if (match.has("prefixRanges")) {
            List<String> ranges = new ArrayList<>();
            match.path("prefixRanges").forEach(r -> ranges.add(r.path("addressPrefix").asText() + "/" + r.path("prefixLen").asInt(32)));
            parts.add("Addr: " + String.join(",", ranges));
        }
        if (match.has("transportProtocol")) {
            parts.add("Trans: " + match.path("transportProtocol").asText());
        }
        if (match.has("applicationProtocols")) {
            parts.add("App: " + join(match.path("applicationProtocols")));
        }
        return parts.isEmpty() ? "ALL" : String.join("; ", parts);
    }

    private static String chainDestination(JsonNode chain) {
        for (JsonNode filter : chain.path("filters")) {
            String destination = filterDestination(filter.path("typedConfig"));
            if (!destination.equals("-")) {
                return destination;
            }
        }
        return "-";
    }

    private static String filterDestination(JsonNode typed) {
        String type = typed.path("@type").asText("");
        if (type.endsWith(HCM)) {
            if (typed.has("rds")) {
                return "Route: " + typed.path("rds").path("routeConfigName").asText();
            }
            if (typed.has("routeConfig")) {
                return "Inline Route: " + typed.path("routeConfig").path("name").asText("-");
            }
            return "HTTP";
        }
        if (type.endsWith(TCP_PROXY)) {
            JsonNode weighted = typed.path("weightedClusters").path("clusters");
            if (weighted.isArray() && !weighted.isEmpty()) {
                List<String> parts = new ArrayList<>();
                weighted.forEach(w -> parts.add(w.path("name").asText() + " " + w.path("weight").asInt() + "%"));
                return "Clusters: " + String.join(", ", parts);
            }
            return "Cluster: " + typed.path("cluster").asText("-");
        }
        return type.isEmpty() ? "-" : type.substring(type.lastIndexOf('.') + 1);
    }

    // --------------------------------------------------------------------------------------------- endpoints

    /**
     * One row per endpoint pilot assigned. STATUS is the health pilot sends (EDS); OUTLIER CHECK is the proxy's live
     * view (OK or FAILED when it ejected the endpoint), "-" when the proxy's own view is not available.
     *
     * @param live the gateway admin's {@code /clusters}, or null
     */
    static List<EndpointRow> endpoints(JsonNode dump, JsonNode live) {
        List<EndpointRow> rows = new ArrayList<>();
        for (JsonNode assignment : dump.path("endpoints")) {
            String cluster = assignment.path("clusterName").asText();
            for (JsonNode locality : assignment.path("endpoints")) {
                for (JsonNode lb : locality.path("lbEndpoints")) {
                    JsonNode socket = lb.path("endpoint").path("address").path("socketAddress");
                    String endpoint = socket.path("address").asText() + ":" + socket.path("portValue").asText();
                    String health = lb.path("healthStatus").asText("UNKNOWN");
                    // Envoy routes to an endpoint whose health is unknown: it counts as healthy.
                    String status = health.equals("UNKNOWN") ? "HEALTHY" : health;
                    rows.add(new EndpointRow(endpoint, status, outlier(live, cluster, endpoint), cluster));
                }
            }
        }
        rows.sort(Comparator.comparing(EndpointRow::cluster).thenComparing(EndpointRow::endpoint));
        return rows;
    }

    private static String outlier(JsonNode live, String cluster, String endpoint) {
        if (live == null) {
            return "-";
        }
        for (JsonNode state : live.path(cluster).path("endpoints")) {
            if (endpoint.equals(state.path("address").asText())) {
                return state.path("ejected").asBoolean() ? "FAILED" : "OK";
            }
        }
        return "-";
    }

    // ---------------------------------------------------------------------------------------------- printing

    static void table(Kind kind, JsonNode dump, JsonNode live, PrintWriter out) {
        switch (kind) {
            case routes -> Table.print(out, ROUTE_COLUMNS, routes(dump).stream().map(RouteRow::cells).toList());
            case clusters -> Table.print(out, CLUSTER_COLUMNS, clusters(dump).stream().map(ClusterRow::cells).toList());
            case listeners -> Table.print(out, LISTENER_COLUMNS, listeners(dump).stream().map(ListenerRow::cells).toList());
            case endpoints -> Table.print(out, ENDPOINT_COLUMNS, endpoints(dump, live).stream().map(EndpointRow::cells).toList());
        }
    }

    /** What -o json and -o yaml print: the raw resources (as istioctl does), and for endpoints the merged rows. */
    static Object document(Kind kind, JsonNode dump, JsonNode live) {
        return kind == Kind.endpoints ? endpoints(dump, live) : dump.path(kind.name());
    }

    private static String join(JsonNode values) {
        List<String> out = new ArrayList<>();
        values.forEach(v -> out.add(v.asText()));
        return String.join(",", out);
    }
}
