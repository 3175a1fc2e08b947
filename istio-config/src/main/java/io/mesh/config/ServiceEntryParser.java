package io.mesh.config;

import io.mesh.config.ServiceEntry.Port;
import io.mesh.config.ServiceEntry.WorkloadSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Validates ServiceEntry and WorkloadEntry specs as Istio does. */
public final class ServiceEntryParser {
    private static final Set<String> PROTOCOLS = Set.of("HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO",
            "REDIS", "MYSQL", "TCP", "TLS", "UDP");

    private ServiceEntryParser() {
    }

    public static ServiceEntry parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("hosts", "addresses", "ports", "location", "resolution", "endpoints", "workloadSelector",
                "exportTo", "subjectAltNames");
        List<String> hosts = r.strings("hosts");
        if (hosts.isEmpty()) {
            p.error("spec.hosts", "at least one host is required");
        }
        for (int i = 0; i < hosts.size(); i++) {
            String err = Hosts.check(hosts.get(i), true);
            if (err != null) {
                p.error("spec.hosts[" + i + "]", err);
            }
        }
        List<String> addresses = r.strings("addresses");
        for (int i = 0; i < addresses.size(); i++) {
            if (!isIpOrCidr(addresses.get(i))) {
                p.error("spec.addresses[" + i + "]", "\"" + addresses.get(i) + "\" is not an IP address or a CIDR block");
            }
        }
        List<Port> ports = new ArrayList<>();
        Set<String> portNames = new HashSet<>();
        Set<Integer> portNumbers = new HashSet<>();
        for (SpecReader pr : r.list("ports")) {
            pr.allow("number", "name", "protocol", "targetPort");
            Integer n = pr.integer("number");
            if (n == null || n < 1 || n > 65535) {
                p.error(pr.at("number"), "must be between 1 and 65535");
                continue;
            }
            String name = pr.requiredString("name");
            String protocol = pr.string("protocol");
            if (protocol != null && !PROTOCOLS.contains(protocol.toUpperCase(java.util.Locale.ROOT))) {
                p.error(pr.at("protocol"), "unknown protocol \"" + protocol + "\"");
            }
            if (name != null && !portNames.add(name)) {
                p.error(pr.at("name"), "duplicate port name \"" + name + "\"");
            }
            if (!portNumbers.add(n)) {
                p.error(pr.at("number"), "duplicate port number " + n);
            }
            Integer targetPort = pr.integer("targetPort");
            if (targetPort != null && (targetPort < 1 || targetPort > 65535)) {
                p.error(pr.at("targetPort"), "must be between 1 and 65535");
            }
            ports.add(new Port(n, name == null ? "" : name, protocol == null ? "TCP" : protocol.toUpperCase(),
                    targetPort));
        }
        String resolution = r.string("resolution");
        if (resolution == null) {
            resolution = "NONE";
        } else if (!Set.of("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN").contains(resolution)) {
            p.error("spec.resolution", "unknown resolution \"" + resolution + "\"");
        }
        String location = r.string("location");
        if (location != null && !Set.of("MESH_EXTERNAL", "MESH_INTERNAL").contains(location)) {
            p.error("spec.location", "unknown location \"" + location + "\"");
        }
        List<WorkloadSpec> endpoints = new ArrayList<>();
        for (SpecReader e : r.list("endpoints")) {
            WorkloadSpec w = workload(e, portNames);
            if ("STATIC".equals(resolution) && w.address() != null && !isIp(w.address())
                    && !w.address().startsWith("unix://")) {
                p.error(e.at("address"), "resolution STATIC needs an IP address, got \"" + w.address() + "\"");
            }
            endpoints.add(w);
        }
        Map<String, String> selector = null;
        SpecReader ws = r.object("workloadSelector");
        if (ws != null) {
            ws.allow("labels");
            selector = ws.stringMap("labels");
            if (!endpoints.isEmpty()) {
                p.error("spec", "only one of endpoints or workloadSelector may be set");
            }
        }
        if ("STATIC".equals(resolution) && endpoints.isEmpty() && selector == null) {
            p.warn("spec.endpoints", "resolution STATIC with no endpoints: the service has no endpoints");
        }
        // istioctl's IST0134: a TCP port (or one without protocol) of an entry without addresses takes every connection
        // sidecars capture to that port (a NONE entry with endpoints or a selector is told by its endpoints' IPs).
        boolean byEndpoints = "NONE".equals(resolution) && (!endpoints.isEmpty() || selector != null);
        if (addresses.isEmpty() && !byEndpoints) {
            for (int i = 0; i < ports.size(); i++) {
                if ("TCP".equals(ports.get(i).protocol())) {
                    p.warn("spec.ports[" + i + "]", "ServiceEntry addresses are required for this protocol (IST0134):"
                            + " without them, sidecars send every connection to port " + ports.get(i).number()
                            + " to this entry, whatever its destination");
                }
            }
        }
        String unknown = TrafficDistribution.unknownAnnotation(raw.annotations());
        if (unknown != null) {
            p.warn("metadata.annotations." + TrafficDistribution.ANNOTATION, "unknown traffic distribution \""
                    + unknown + "\" (PreferSameZone, PreferClose or PreferSameNode): ignored, as istiod ignores it");
        }
        return new ServiceEntry(raw.namespace(), raw.name(), hosts, ports, location == null ? "MESH_EXTERNAL"
                : location, resolution, endpoints, selector, addresses, ExportTo.read(r, raw.namespace(), true),
                TrafficDistribution.ofAnnotation(raw.annotations()), raw.labels());
    }

    public static WorkloadSpec workloadEntry(RawResource raw, Problems p) {
        WorkloadSpec w = workload(new SpecReader(raw.spec(), "spec", p), null);
        return new WorkloadSpec(w.address(), w.ports(), w.labels(), w.locality(), w.weight(), w.serviceAccount(),
                w.network(), healthy(raw));
    }

    /** istiod's WorkloadEntry health annotation (status.WorkloadEntryHealthCheckAnnotation). */
    static final String HEALTH_CHECKS_ANNOTATION = "proxy.istio.io/health-checks-enabled";

    /**
     * istiod's isHealthy: without health checks (the annotation absent, or not a true value as Go's
     * strconv.ParseBool reads it) healthy; with them, healthy only when {@code status.conditions} has
     * {@code type: Healthy} with {@code status: "True"} (absent: not yet proven healthy).
     */
    static boolean healthy(RawResource raw) {
        String checks = raw.annotations().get(HEALTH_CHECKS_ANNOTATION);
        if (checks == null || !java.util.Set.of("1", "t", "T", "TRUE", "true", "True").contains(checks)) {
            return true;
        }
        if (raw.status() != null) {
            for (var c : raw.status().path("conditions")) {
                if ("Healthy".equals(c.path("type").asText())) {
                    return "True".equals(c.path("status").asText());
                }
            }
        }
        return false;
    }

    static WorkloadSpec workload(SpecReader e, Set<String> portNames) {
        e.allow("address", "ports", "labels", "network", "locality", "weight", "serviceAccount");
        String address = e.requiredString("address");
        Map<String, Integer> ports = new LinkedHashMap<>();
        SpecReader pr = e.object("ports");
        if (pr != null) {
            pr.node().fieldNames().forEachRemaining(name -> {
                Integer n = pr.integer(name);
                if (n == null || n < 1 || n > 65535) {
                    e.problems().error(pr.at(name), "must be a port between 1 and 65535");
                } else {
                    ports.put(name, n);
                }
                if (portNames != null && !portNames.contains(name)) {
                    e.problems().warn(pr.at(name), "names no port of the service");
                }
            });
        }
        Integer weight = e.integer("weight");
        if (weight != null && weight < 0) {
            e.problems().error(e.at("weight"), "must not be negative");
        }
        return new WorkloadSpec(address, ports, e.stringMap("labels"), e.string("locality"),
                weight == null || weight == 0 ? 1 : weight, e.string("serviceAccount"), e.string("network"));
    }

    /** An IPv4 or IPv6 address, optionally with a prefix length ("10.0.0.0/24", "2001:db8::/32"). */
    static boolean isIpOrCidr(String s) {
        int slash = s.indexOf('/');
        String ip = slash < 0 ? s : s.substring(0, slash);
        if (!isIp(ip)) {
            return false;
        }
        boolean v4 = !ip.contains(":");
        if (v4 && java.util.Arrays.stream(ip.split("\\.")).anyMatch(o -> Integer.parseInt(o) > 255)) {
            return false;
        }
        if (slash < 0) {
            return true;
        }
        String prefix = s.substring(slash + 1);
        return prefix.matches("\\d{1,3}") && Integer.parseInt(prefix) <= (v4 ? 32 : 128);
    }

    static boolean isIp(String s) {
        return s.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (s.contains(":") && s.matches("[0-9a-fA-F:.]+"));
    }
}
