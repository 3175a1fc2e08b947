package io.mesh.gateway.capture;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the capture rules redirect, parsed from istio-init's flags so that an injection template written for
 * Istio reads the same here. A list flag holds comma-separated values; {@code *} means everything, and an
 * empty value means nothing.
 *
 * @param proxyPort where outbound TCP is redirected ({@code -p}, 15001)
 * @param inboundPort where inbound TCP is redirected ({@code -z}, 15006)
 * @param proxyUid the proxy's user, whose own traffic is never captured ({@code -u}, 1337)
 * @param proxyGid the proxy's group, likewise ({@code -g}, 1337)
 * @param includeOutboundCidrs destinations whose outbound traffic is captured ({@code -i}, {@code *})
 * @param excludeOutboundCidrs destinations never captured ({@code -x})
 * @param includeInboundPorts inbound ports captured ({@code -b}, {@code *})
 * @param excludeInboundPorts inbound ports never captured ({@code -d}); the proxy's own are always added
 * @param excludeOutboundPorts outbound destination ports never captured ({@code -o})
 */
public record CaptureOptions(int proxyPort, int inboundPort, int proxyUid, int proxyGid,
        List<String> includeOutboundCidrs, List<String> excludeOutboundCidrs,
        List<String> includeInboundPorts, List<Integer> excludeInboundPorts, List<Integer> excludeOutboundPorts) {

    /** The proxy's own ports, which inbound capture must never take: health, merged metrics, Envoy-style stats. */
    public static final List<Integer> PROXY_OWN_PORTS = List.of(15020, 15021, 15090);

    public static final String ALL = "*";

    private static final Pattern IPV4_CIDR = Pattern.compile(
            "(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}(/(3[0-2]|[12]?\\d))?");

    public CaptureOptions {
        includeOutboundCidrs = List.copyOf(includeOutboundCidrs);
        excludeOutboundCidrs = List.copyOf(excludeOutboundCidrs);
        includeInboundPorts = List.copyOf(includeInboundPorts);
        Set<Integer> excluded = new LinkedHashSet<>(PROXY_OWN_PORTS);
        excluded.addAll(excludeInboundPorts);
        excludeInboundPorts = List.copyOf(excluded);
        excludeOutboundPorts = List.copyOf(excludeOutboundPorts);
    }

    /** The defaults: capture all inbound and outbound TCP, as a freshly injected Istio pod does. */
    public static CaptureOptions defaults() {
        return new CaptureOptions(15001, 15006, 1337, 1337, List.of(ALL), List.of(), List.of(ALL), List.of(), List.of());
    }

    /**
     * Parses istio-init's flags (short and long forms). Unknown flags, missing values and malformed ports or
     * CIDRs are refused with a message naming the flag.
     */
    public static CaptureOptions parse(List<String> args) {
        int proxyPort = 15001;
        int inboundPort = 15006;
        int uid = 1337;
        int gid = 1337;
        List<String> includeOut = List.of(ALL);
        List<String> excludeOut = List.of();
        List<String> includeIn = List.of(ALL);
        List<Integer> excludeIn = List.of();
        List<Integer> excludeOutPorts = List.of();
        for (int i = 0; i < args.size(); i++) {
            String flag = args.get(i);
            String value;
            int eq = flag.indexOf('=');
            if (flag.startsWith("--") && eq > 0) {
                value = flag.substring(eq + 1);
                flag = flag.substring(0, eq);
            } else {
                if (i + 1 >= args.size()) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                value = args.get(++i);
            }
            switch (flag) {
                case "-p", "--envoy-port", "--proxy-port", "--outbound-capture-port" -> proxyPort = port(flag, value);
                case "-z", "--inbound-capture-port" -> inboundPort = port(flag, value);
                case "-u", "--proxy-uid" -> uid = id(flag, value);
                case "-g", "--proxy-gid" -> gid = id(flag, value);
                case "-m", "--istio-inbound-interception-mode" -> {
                    if (!"REDIRECT".equals(value)) {
                        throw new IllegalArgumentException(flag + ": only REDIRECT interception is supported, not '" + value + "'");
                    }
                }
                case "-i", "--istio-service-cidr", "--include-outbound-ip-ranges" -> includeOut = cidrs(flag, value, true);
                case "-x", "--istio-service-exclude-cidr", "--exclude-outbound-ip-ranges" -> excludeOut = cidrs(flag, value, false);
                case "-b", "--istio-inbound-ports", "--include-inbound-ports" -> includeIn = inboundPorts(flag, value);
                case "-d", "--istio-local-exclude-ports", "--exclude-inbound-ports" -> excludeIn = ports(flag, value);
                case "-o", "--istio-local-outbound-ports-exclude", "--exclude-outbound-ports" -> excludeOutPorts = ports(flag, value);
                default -> throw new IllegalArgumentException("unknown flag " + flag);
            }
        }
        if (proxyPort == inboundPort) {
            throw new IllegalArgumentException("the outbound (-p) and inbound (-z) capture ports must differ, both are " + proxyPort);
        }
        return new CaptureOptions(proxyPort, inboundPort, uid, gid, includeOut, excludeOut, includeIn, excludeIn, excludeOutPorts);
    }

    private static List<String> values(String value) {
        return Arrays.stream(value.split(",")).map(String::strip).filter(v -> !v.isEmpty()).toList();
    }

    private static int port(String flag, String value) {
        try {
            int port = Integer.parseInt(value.strip());
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(flag + ": '" + value + "' is not a port (1-65535)");
    }

    private static int id(String flag, String value) {
        try {
            int id = Integer.parseInt(value.strip());
            if (id >= 0) {
                return id;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(flag + ": '" + value + "' is not a numeric user or group id");
    }

    private static List<Integer> ports(String flag, String value) {
        List<Integer> ports = new ArrayList<>();
        for (String v : values(value)) {
            ports.add(port(flag, v));
        }
        return ports;
    }

    private static List<String> inboundPorts(String flag, String value) {
        if (ALL.equals(value.strip())) {
            return List.of(ALL);
        }
        return ports(flag, value).stream().map(String::valueOf).toList();
    }

    private static List<String> cidrs(String flag, String value, boolean allowAll) {
        if (allowAll && ALL.equals(value.strip())) {
            return List.of(ALL);
        }
        List<String> cidrs = new ArrayList<>();
        for (String v : values(value)) {
            if (!IPV4_CIDR.matcher(v).matches()) {
                throw new IllegalArgumentException(flag + ": '" + v + "' is not an IPv4 address or CIDR (IPv6 capture is not supported)");
            }
            cidrs.add(v.contains("/") ? v : v + "/32");
        }
        return cidrs;
    }
}
