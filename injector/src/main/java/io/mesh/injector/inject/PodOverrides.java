package io.mesh.injector.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The per-pod annotations Istio honours, parsed and checked. A value that cannot be used refuses the
 * injection with a message naming the annotation, rather than injecting something that fails later.
 */
record PodOverrides(
        String cpuRequest,
        String memoryRequest,
        String cpuLimit,
        String memoryLimit,
        String includeOutboundIpRanges,
        String excludeOutboundIpRanges,
        String includeInboundPorts,
        String excludeInboundPorts,
        String excludeOutboundPorts,
        boolean holdApplicationUntilProxyStarts,
        Map<String, String> proxyMetadata,
        boolean rewriteProbes,
        String logLevel,
        String componentLogLevel,
        long terminationDrainSeconds) {

    static final String PROXY_CPU = "sidecar.istio.io/proxyCPU";
    static final String PROXY_MEMORY = "sidecar.istio.io/proxyMemory";
    static final String PROXY_CPU_LIMIT = "sidecar.istio.io/proxyCPULimit";
    static final String PROXY_MEMORY_LIMIT = "sidecar.istio.io/proxyMemoryLimit";
    static final String INCLUDE_OUTBOUND_IP_RANGES = "traffic.sidecar.istio.io/includeOutboundIPRanges";
    static final String EXCLUDE_OUTBOUND_IP_RANGES = "traffic.sidecar.istio.io/excludeOutboundIPRanges";
    static final String INCLUDE_INBOUND_PORTS = "traffic.sidecar.istio.io/includeInboundPorts";
    static final String EXCLUDE_INBOUND_PORTS = "traffic.sidecar.istio.io/excludeInboundPorts";
    static final String EXCLUDE_OUTBOUND_PORTS = "traffic.sidecar.istio.io/excludeOutboundPorts";
    static final String PROXY_CONFIG = "proxy.istio.io/config";
    static final String REWRITE_PROBES = "sidecar.istio.io/rewriteAppHTTPProbers";
    static final String LOG_LEVEL = "sidecar.istio.io/logLevel";
    static final String COMPONENT_LOG_LEVEL = "sidecar.istio.io/componentLogLevel";
    /** A protobuf Duration in its JSON form, as ProxyConfig's terminationDrainDuration is read: seconds, a fraction, "s". */
    private static final Pattern PROTO_DURATION = Pattern.compile("^([0-9]{1,12})(\\.[0-9]{1,9})?s$");
    /** The proxy's log levels, as Envoy's (the proxy checks its logger names; an unknown one fails its start). */
    private static final Set<String> LEVELS = Set.of("trace", "debug", "info", "warning", "warn", "error", "critical", "off");

    /** A Kubernetes resource quantity: 100m, 0.5, 128Mi, 1e3, 2G. */
    private static final Pattern QUANTITY =
            Pattern.compile("^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$");
    private static final Pattern IP_LITERAL = Pattern.compile("^[0-9a-fA-F:.]+$");
    private static final Pattern ENV_NAME = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]*$");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static PodOverrides from(PodView pod, MeshSettings mesh) {
        Map<String, String> a = pod.annotations();
        JsonNode proxyConfig = proxyConfig(a.get(PROXY_CONFIG));
        boolean hold = mesh.holdApplicationUntilProxyStarts();
        JsonNode holdNode = proxyConfig.get("holdApplicationUntilProxyStarts");
        if (holdNode != null && !holdNode.isNull()) {
            if (!holdNode.isBoolean()) {
                throw new InjectionRefused(PROXY_CONFIG + ": holdApplicationUntilProxyStarts must be true or false, not "
                        + holdNode);
            }
            hold = holdNode.booleanValue();
        }
        return new PodOverrides(
                quantity(a, PROXY_CPU, mesh.cpuRequest()),
                quantity(a, PROXY_MEMORY, mesh.memoryRequest()),
                quantity(a, PROXY_CPU_LIMIT, mesh.cpuLimit()),
                quantity(a, PROXY_MEMORY_LIMIT, mesh.memoryLimit()),
                ipRanges(a, INCLUDE_OUTBOUND_IP_RANGES, mesh.includeOutboundIpRanges(), true),
                ipRanges(a, EXCLUDE_OUTBOUND_IP_RANGES, "", false),
                ports(a, INCLUDE_INBOUND_PORTS, "*", true),
                ports(a, EXCLUDE_INBOUND_PORTS, "", false),
                ports(a, EXCLUDE_OUTBOUND_PORTS, "", false),
                hold,
                proxyMetadata(proxyConfig.get("proxyMetadata")),
                !"false".equalsIgnoreCase(a.getOrDefault(REWRITE_PROBES, "true").trim()),
                logLevel(a),
                componentLogLevel(a),
                terminationDrainSeconds(proxyConfig.get("terminationDrainDuration"), mesh.terminationDrainDuration()));
    }

    /**
     * proxy.istio.io/config terminationDrainDuration ("30s", "1.5s"), else the mesh default: whole seconds, as Istio's
     * template writes TERMINATION_DRAIN_DURATION_SECONDS (the Duration's seconds, the fraction dropped).
     */
    private static long terminationDrainSeconds(JsonNode node, String meshDefault) {
        if (node == null || node.isNull()) {
            return drainSeconds(meshDefault);
        }
        long seconds = node.isTextual() ? drainSeconds(node.textValue().trim()) : -1;
        if (seconds < 0) {
            throw new InjectionRefused(PROXY_CONFIG + ": terminationDrainDuration must be a duration in seconds such as 30s"
                    + " or 1.5s, not " + node);
        }
        return seconds;
    }

    /** The whole seconds of a protobuf JSON duration ("5s", "1.5s"), or -1 when it is not one (or is negative). */
    static long drainSeconds(String value) {
        var m = PROTO_DURATION.matcher(value == null ? "" : value);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** sidecar.istio.io/logLevel: one of Envoy's levels, or "" (the proxy's default). */
    private static String logLevel(Map<String, String> annotations) {
        String value = annotations.getOrDefault(LOG_LEVEL, "").trim();
        if (!value.isEmpty() && !LEVELS.contains(value.toLowerCase(java.util.Locale.ROOT))) {
            throw new InjectionRefused(LOG_LEVEL + ": '" + value + "' is not a log level (trace, debug, info, warning,"
                    + " error, critical, off)");
        }
        return value;
    }

    /** sidecar.istio.io/componentLogLevel: name:level,... (e.g. router:debug), or ""; returned without spaces. */
    private static String componentLogLevel(Map<String, String> annotations) {
        String value = annotations.getOrDefault(COMPONENT_LOG_LEVEL, "").trim();
        if (value.isEmpty()) {
            return value;
        }
        List<String> parts = new ArrayList<>();
        for (String item : value.split(",")) {
            String part = item.trim();
            int colon = part.indexOf(':');
            String name = colon < 0 ? "" : part.substring(0, colon).trim();
            String level = colon < 0 ? "" : part.substring(colon + 1).trim();
            if (!name.matches("[a-z_]+") || !LEVELS.contains(level.toLowerCase(java.util.Locale.ROOT))) {
                throw new InjectionRefused(COMPONENT_LOG_LEVEL + ": '" + part + "' is not name:level (e.g. router:debug;"
                        + " levels trace, debug, info, warning, error, critical, off)");
            }
            parts.add(name + ":" + level);
        }
        return String.join(",", parts);
    }

    static boolean isQuantity(String value) {
        return QUANTITY.matcher(value).matches();
    }

    private static String quantity(Map<String, String> annotations, String key, String fallback) {
        String value = annotations.get(key);
        if (value == null) {
            return fallback;
        }
        value = value.trim();
        if (!QUANTITY.matcher(value).matches()) {
            throw new InjectionRefused(key + ": '" + value + "' is not a resource quantity (e.g. 100m, 0.5, 128Mi)");
        }
        return value;
    }

    /** "*" or a comma-separated list of CIDRs; returned normalized (no spaces). */
    private static String ipRanges(Map<String, String> annotations, String key, String fallback, boolean allowAll) {
        String value = annotations.get(key);
        if (value == null) {
            return fallback;
        }
        value = value.trim();
        if (allowAll && value.equals("*")) {
            return value;
        }
        List<String> ranges = new ArrayList<>();
        for (String item : value.split(",")) {
            String range = item.trim();
            if (range.isEmpty()) {
                continue;
            }
            if (!isCidr(range)) {
                throw new InjectionRefused(key + ": '" + range + "' is not an IP range in CIDR form (e.g. 10.0.0.0/8)"
                        + (allowAll ? " or *" : ""));
            }
            ranges.add(range);
        }
        return String.join(",", ranges);
    }

    private static boolean isCidr(String range) {
        int slash = range.indexOf('/');
        String address = slash < 0 ? range : range.substring(0, slash);
        if (!IP_LITERAL.matcher(address).matches()) {
            return false;
        }
        byte[] bytes;
        try {
            // A literal (checked above) is parsed, never looked up.
            bytes = InetAddress.getByName(address).getAddress();
        } catch (UnknownHostException e) {
            return false;
        }
        if (address.indexOf(':') < 0 && address.split("\\.", -1).length != 4) {
            return false;
        }
        if (slash < 0) {
            return true;
        }
        try {
            int prefix = Integer.parseInt(range.substring(slash + 1));
            return prefix >= 0 && prefix <= bytes.length * 8;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** "*" (where allowed) or a comma-separated list of ports; returned normalized, duplicates dropped. */
    private static String ports(Map<String, String> annotations, String key, String fallback, boolean allowAll) {
        String value = annotations.get(key);
        if (value == null) {
            return fallback;
        }
        value = value.trim();
        if (allowAll && value.equals("*")) {
            return value;
        }
        Set<String> ports = new LinkedHashSet<>();
        for (String item : value.split(",")) {
            String port = item.trim();
            if (port.isEmpty()) {
                continue;
            }
            int number;
            try {
                number = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                number = -1;
            }
            if (number < 1 || number > 65535) {
                throw new InjectionRefused(key + ": '" + port + "' is not a port (1-65535)" + (allowAll ? " or *" : ""));
            }
            ports.add(Integer.toString(number));
        }
        return String.join(",", ports);
    }

    private static JsonNode proxyConfig(String value) {
        if (value == null || value.isBlank()) {
            return YAML.createObjectNode();
        }
        JsonNode node;
        try {
            node = YAML.readTree(value);
        } catch (IOException e) {
            String reason = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            throw new InjectionRefused(PROXY_CONFIG + " is not valid YAML: " + reason);
        }
        if (node == null || node.isMissingNode() || node.isNull()) {
            return YAML.createObjectNode();
        }
        if (!node.isObject()) {
            throw new InjectionRefused(PROXY_CONFIG + " must be a YAML map of ProxyConfig fields");
        }
        return node;
    }

    /** Go's strconv.ParseBool values, as istio-agent reads EXIT_ON_ZERO_ACTIVE_CONNECTIONS. */
    private static final Set<String> GO_BOOLS = Set.of("1", "t", "T", "true", "TRUE", "True", "0", "f", "F", "false",
            "FALSE", "False");
    /** A Go duration (time.ParseDuration), as istio-agent reads MINIMUM_DRAIN_DURATION: 5s, 1m30s, 500ms, 0. */
    private static final Pattern GO_DURATION = Pattern.compile("^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$");

    /** The proxy refuses to start on a malformed drain variable, so the pod is refused here instead, naming it. */
    private static void checkDrainMetadata(Map<String, String> env) {
        String exitOnZero = env.get("EXIT_ON_ZERO_ACTIVE_CONNECTIONS");
        if (exitOnZero != null && !exitOnZero.isEmpty() && !GO_BOOLS.contains(exitOnZero)) {
            throw new InjectionRefused(PROXY_CONFIG + ": proxyMetadata.EXIT_ON_ZERO_ACTIVE_CONNECTIONS must be true or false, not '"
                    + exitOnZero + "'");
        }
        String minimum = env.get("MINIMUM_DRAIN_DURATION");
        if (minimum != null && !minimum.isEmpty() && !GO_DURATION.matcher(minimum).matches()) {
            throw new InjectionRefused(PROXY_CONFIG + ": proxyMetadata.MINIMUM_DRAIN_DURATION must be a duration such as 5s"
                    + " or 1m30s, not '" + minimum + "'");
        }
        if (env.containsKey("TERMINATION_DRAIN_DURATION_SECONDS")) {
            throw new InjectionRefused(PROXY_CONFIG + ": set terminationDrainDuration, not proxyMetadata."
                    + "TERMINATION_DRAIN_DURATION_SECONDS");
        }
    }

    private static Map<String, String> proxyMetadata(JsonNode node) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new InjectionRefused(PROXY_CONFIG + ": proxyMetadata must be a map of environment variables");
        }
        Map<String, String> env = new TreeMap<>();
        var fields = node.fields();
        while (fields.hasNext()) {
            var field = fields.next();
            if (!ENV_NAME.matcher(field.getKey()).matches()) {
                throw new InjectionRefused(PROXY_CONFIG + ": proxyMetadata key '" + field.getKey()
                        + "' is not an environment variable name");
            }
            if (field.getValue().isContainerNode()) {
                throw new InjectionRefused(PROXY_CONFIG + ": proxyMetadata." + field.getKey() + " must be a string");
            }
            env.put(field.getKey(), field.getValue().asText());
        }
        checkDrainMetadata(env);
        return java.util.Collections.unmodifiableMap(env);
    }
}
