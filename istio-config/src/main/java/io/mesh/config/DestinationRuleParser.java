package io.mesh.config;

import io.mesh.config.DestinationRule.ConnectionPool;
import io.mesh.config.DestinationRule.LoadBalancer;
import io.mesh.config.DestinationRule.OutlierDetection;
import io.mesh.config.DestinationRule.Subset;
import io.mesh.config.DestinationRule.Tls;
import io.mesh.config.DestinationRule.TrafficPolicy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Validates a DestinationRule as Istio does. */
public final class DestinationRuleParser {
    private DestinationRuleParser() {
    }

    public static DestinationRule parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("host", "trafficPolicy", "subsets", "exportTo", "workloadSelector");
        String host = r.requiredString("host");
        if (host != null && !host.isEmpty()) {
            String err = Hosts.check(host, true);
            if (err != null) {
                p.error("spec.host", err);
            }
        }
        TrafficPolicy policy = policy(r.object("trafficPolicy"));
        List<Subset> subsets = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (SpecReader s : r.list("subsets")) {
            s.allow("name", "labels", "trafficPolicy");
            String name = s.requiredString("name");
            if (name != null && !names.add(name)) {
                p.error(s.at("name"), "duplicate subset name \"" + name + "\"");
            }
            subsets.add(new Subset(name == null ? "" : name, s.stringMap("labels"), policy(s.object("trafficPolicy"))));
        }
        Map<String, String> selector = null;
        SpecReader ws = r.object("workloadSelector");
        if (ws != null) {
            ws.allow("matchLabels");
            selector = ws.stringMap("matchLabels");
        }
        return new DestinationRule(raw.namespace(), raw.name(), host == null ? "" : host,
                policy == null ? TrafficPolicy.NONE : policy, subsets, ExportTo.read(r, raw.namespace(), false),
                selector);
    }

    static TrafficPolicy policy(SpecReader r) {
        if (r == null) {
            return null;
        }
        r.allow("loadBalancer", "connectionPool", "outlierDetection", "tls", "portLevelSettings", "tunnel",
                "proxyProtocol");
        for (String inert : List.of("tunnel", "proxyProtocol")) {
            if (r.has(inert)) {
                r.problems().warn(r.at(inert), "has no effect here: the proxy does not originate " + inert
                        + (inert.equals("tunnel") ? " (HTTP CONNECT/POST) connections" : " headers"));
            }
        }
        java.util.Map<Integer, TrafficPolicy> ports = new java.util.LinkedHashMap<>();
        for (SpecReader pl : r.list("portLevelSettings")) {
            pl.allow("port", "loadBalancer", "connectionPool", "outlierDetection", "tls");
            SpecReader port = pl.object("port");
            Integer number = null;
            if (port == null) {
                pl.problems().error(pl.at("port"), "is required (port-level settings apply to one port)");
            } else {
                port.allow("number");
                number = port.integer("number");
                if (number == null || number < 1 || number > 65535) {
                    port.problems().error(port.at("number"), "must be between 1 and 65535");
                    number = null;
                }
            }
            if (!pl.has("loadBalancer") && !pl.has("connectionPool") && !pl.has("outlierDetection") && !pl.has("tls")) {
                pl.problems().error(pl.path(), "port traffic policy must have at least one field");
            }
            TrafficPolicy p = new TrafficPolicy(loadBalancer(pl.object("loadBalancer"), pl.has("outlierDetection")),
                    pool(pl.object("connectionPool")), outlier(pl.object("outlierDetection")), tls(pl.object("tls")),
                    Map.of());
            if (number != null && ports.putIfAbsent(number, p) != null) {
                pl.problems().error(pl.at("port"), "port " + number + " already has port-level settings");
            }
        }
        return new TrafficPolicy(loadBalancer(r.object("loadBalancer"), r.has("outlierDetection")),
                pool(r.object("connectionPool")),
                outlier(r.object("outlierDetection")), tls(r.object("tls")), ports);
    }

    /**
     * {@code warmup} ({@code duration} required and positive, {@code minimumPercent} 0-100 (default 10),
     * {@code aggression} at least 1 (default 1), as Istio validates them), else the deprecated
     * {@code warmupDurationSecs}; null for neither. istiod takes {@code warmup} when both are set.
     */
    private static DestinationRule.Warmup warmup(SpecReader r) {
        SpecReader w = r.object("warmup");
        if (w != null) {
            w.allow("duration", "minimumPercent", "aggression");
            java.time.Duration d = w.duration("duration");
            if (d == null) {
                w.problems().error(w.at("duration"), "is required");
            } else if (d.isZero() || d.isNegative()) {
                w.problems().error(w.at("duration"), "must be positive");
            }
            Double min = w.number("minimumPercent");
            if (min != null && (min < 0 || min > 100)) {
                w.problems().error(w.at("minimumPercent"), "must be between 0 and 100, got " + min);
            }
            Double aggression = w.number("aggression");
            if (aggression != null && aggression < 1) {
                w.problems().error(w.at("aggression"), "must be at least 1, got " + aggression);
            }
            return new DestinationRule.Warmup(d, min == null ? 10.0 : min, aggression == null ? 1.0 : aggression);
        }
        java.time.Duration legacy = r.duration("warmupDurationSecs");
        if (legacy == null) {
            return null;
        }
        if (legacy.isZero() || legacy.isNegative()) {
            r.problems().error(r.at("warmupDurationSecs"), "must be positive");
        }
        return new DestinationRule.Warmup(legacy, null, null);
    }

    /** {@code outlierDetection}: whether the same traffic policy has outlier detection (locality failover needs it). */
    private static LoadBalancer loadBalancer(SpecReader r, boolean outlierDetection) {
        if (r == null) {
            return null;
        }
        r.allow("simple", "consistentHash", "localityLbSetting", "warmupDurationSecs", "warmup");
        DestinationRule.Warmup warmup = warmup(r);
        DestinationRule.LocalityLbSetting locality = LocalityLbSettingParser.parse(r.object("localityLbSetting"),
                outlierDetection);
        DestinationRule.Simple simple = DestinationRule.Simple.UNSPECIFIED;
        String s = r.string("simple");
        if (s != null) {
            try {
                simple = DestinationRule.Simple.valueOf(s);
            } catch (IllegalArgumentException e) {
                r.problems().error(r.at("simple"), "unknown load balancer \"" + s + "\"");
            }
        }
        SpecReader ch = r.object("consistentHash");
        if (ch == null) {
            return new LoadBalancer(simple, null, null, null, null, false, null, locality, warmup);
        }
        if (s != null) {
            r.problems().error(r.path(), "only one of simple or consistentHash may be set");
        }
        ch.allow("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "minimumRingSize",
                "ringHash", "maglev");
        String cookie = null;
        String cookiePath = null;
        java.time.Duration ttl = null;
        SpecReader c = ch.object("httpCookie");
        if (c != null) {
            c.allow("name", "path", "ttl", "attributes");
            cookie = c.requiredString("name");
            cookiePath = c.string("path");
            ttl = c.duration("ttl");
            if (ttl != null && ttl.isNegative()) {
                c.problems().error(c.at("ttl"), "must not be negative");
            }
        }
        Boolean src = ch.bool("useSourceIp");
        LoadBalancer lb = new LoadBalancer(simple, ch.string("httpHeaderName"), cookie, cookiePath, ttl,
                src != null && src, ch.string("httpQueryParameterName"), locality);
        int keys = (lb.hashHeader() != null ? 1 : 0) + (cookie != null ? 1 : 0) + (lb.hashSourceIp() ? 1 : 0)
                + (lb.hashQueryParameter() != null ? 1 : 0);
        if (keys > 1) {
            r.problems().error(ch.path(), "only one hash key (httpHeaderName, httpCookie, useSourceIp, "
                    + "httpQueryParameterName) may be set");
        }
        if (!lb.consistentHash()) {
            r.problems().error(ch.path(), "one hash key (httpHeaderName, httpCookie, useSourceIp, "
                    + "httpQueryParameterName) is required");
        }
        return lb;
    }

    private static ConnectionPool pool(SpecReader r) {
        if (r == null) {
            return null;
        }
        r.allow("tcp", "http");
        SpecReader tcp = r.object("tcp");
        SpecReader http = r.object("http");
        Integer maxConnections = null;
        java.time.Duration connectTimeout = null;
        java.time.Duration tcpIdle = null;
        java.time.Duration maxDuration = null;
        DestinationRule.TcpKeepalive keepalive = null;
        if (tcp != null) {
            tcp.allow("maxConnections", "connectTimeout", "tcpKeepalive", "maxConnectionDuration", "idleTimeout");
            maxConnections = positive(tcp, "maxConnections");
            connectTimeout = tcp.duration("connectTimeout");
            tcpIdle = idleTimeout(tcp);
            maxDuration = atLeastOneMs(tcp, "maxConnectionDuration");
            keepalive = keepalive(tcp.object("tcpKeepalive"));
        }
        Integer pending = null;
        Integer h2 = null;
        Integer perConn = null;
        Integer retries = null;
        Integer streams = null;
        java.time.Duration idle = null;
        boolean h2Upgrade = false;
        boolean clientProtocol = false;
        if (http != null) {
            http.allow("http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection", "maxRetries",
                    "idleTimeout", "h2UpgradePolicy", "useClientProtocol", "maxConcurrentStreams");
            String upgrade = http.string("h2UpgradePolicy");
            if (upgrade != null && !Set.of("DEFAULT", "DO_NOT_UPGRADE", "UPGRADE").contains(upgrade)) {
                http.problems().error(http.at("h2UpgradePolicy"), "must be DEFAULT, DO_NOT_UPGRADE or UPGRADE, got \""
                        + upgrade + "\"");
            }
            h2Upgrade = "UPGRADE".equals(upgrade);
            clientProtocol = Boolean.TRUE.equals(http.bool("useClientProtocol"));
            idle = http.duration("idleTimeout");
            pending = positive(http, "http1MaxPendingRequests");
            h2 = positive(http, "http2MaxRequests");
            perConn = nonNegative(http, "maxRequestsPerConnection");
            retries = nonNegative(http, "maxRetries");
            streams = nonNegative(http, "maxConcurrentStreams");
        }
        return new ConnectionPool(maxConnections, connectTimeout, pending, h2, perConn, retries, idle, h2Upgrade,
                clientProtocol, tcpIdle, keepalive, maxDuration, streams);
    }

    /**
     * {@code tcp.tcpKeepalive} as Istio validates it (istio {@code pkg/config/validation/validation.go},
     * validateConnectionPool): {@code time} and {@code interval} durations of at least 1ms to the millisecond;
     * {@code probes} an unsigned integer. Null when not set.
     */
    private static DestinationRule.TcpKeepalive keepalive(SpecReader k) {
        if (k == null) {
            return null;
        }
        k.allow("probes", "time", "interval");
        return new DestinationRule.TcpKeepalive(nonNegative(k, "probes"), atLeastOneMs(k, "time"),
                atLeastOneMs(k, "interval"));
    }

    /**
     * A duration Istio's {@code ValidateDuration} accepts: at least 1ms, to the millisecond. Null when not set or not
     * valid (the error is reported).
     */
    private static java.time.Duration atLeastOneMs(SpecReader r, String field) {
        java.time.Duration d = r.duration(field);
        if (d == null || d.isNegative()) {
            return null;   // a negative one is already an error
        }
        if (d.compareTo(java.time.Duration.ofMillis(1)) < 0) {
            r.problems().error(r.at(field), "duration must be at least 1ms");
            return null;
        }
        if (d.getNano() % 1_000_000 != 0) {
            r.problems().error(r.at(field), "only durations to ms precision are supported");
            return null;
        }
        return d;
    }

    /**
     * {@code tcp.idleTimeout}, as Istio validates it: {@code 0s} disables the timeout; any other value is a duration
     * of at least 1ms, to the millisecond (Istio's {@code ValidateDuration}). Null when not set or not valid.
     */
    private static java.time.Duration idleTimeout(SpecReader tcp) {
        java.time.Duration d = tcp.duration("idleTimeout");
        if (d == null || d.isZero() || d.isNegative()) {
            return d == null || d.isNegative() ? null : d;   // a negative one is already an error
        }
        if (d.compareTo(java.time.Duration.ofMillis(1)) < 0) {
            tcp.problems().error(tcp.at("idleTimeout"), "duration must be at least 1ms (0s disables the idle timeout)");
            return null;
        }
        if (d.getNano() % 1_000_000 != 0) {
            tcp.problems().error(tcp.at("idleTimeout"), "only durations to ms precision are supported");
            return null;
        }
        return d;
    }

    private static OutlierDetection outlier(SpecReader r) {
        if (r == null) {
            return null;
        }
        r.allow("consecutive5xxErrors", "consecutiveGatewayErrors", "interval", "baseEjectionTime",
                "maxEjectionPercent", "minHealthPercent", "consecutiveErrors", "splitExternalLocalOriginErrors",
                "consecutiveLocalOriginFailures");
        Integer max = r.integer("maxEjectionPercent");
        if (max != null && (max < 0 || max > 100)) {
            r.problems().error(r.at("maxEjectionPercent"), "must be between 0 and 100");
        }
        Integer minHealth = r.integer("minHealthPercent");
        if (minHealth != null && (minHealth < 0 || minHealth > 100)) {
            r.problems().error(r.at("minHealthPercent"), "must be between 0 and 100");
        }
        Integer errors5xx = nonNegative(r, "consecutive5xxErrors");
        Integer gatewayErrors = nonNegative(r, "consecutiveGatewayErrors");
        // Istio's deprecated consecutiveErrors counts gateway errors only (502, 503, 504) and turns 5xx ejection off,
        // unless the newer fields say otherwise.
        Integer legacy = nonNegative(r, "consecutiveErrors");
        if (legacy != null && legacy > 0) {
            r.problems().warn(r.at("consecutiveErrors"), "is deprecated (read as consecutiveGatewayErrors: " + legacy
                    + ", with 5xx ejection off, as Istio does); use consecutiveGatewayErrors or consecutive5xxErrors");
            gatewayErrors = gatewayErrors == null ? legacy : gatewayErrors;
            errors5xx = errors5xx == null ? 0 : errors5xx;
        }
        return new OutlierDetection(errors5xx, gatewayErrors, r.duration("interval"), r.duration("baseEjectionTime"), max,
                minHealth);
    }

    private static Tls tls(SpecReader r) {
        if (r == null) {
            return null;
        }
        r.allow("mode", "clientCertificate", "privateKey", "caCertificates", "credentialName", "subjectAltNames",
                "sni", "insecureSkipVerify", "caCrl");
        for (String file : List.of("clientCertificate", "privateKey", "caCertificates", "caCrl")) {
            if (r.has(file)) {
                r.problems().warn(r.at(file), "has no effect here: the proxy reads no certificate files; name a"
                        + " Secret with credentialName");
            }
        }
        String m = r.string("mode");
        DestinationRule.TlsMode mode = DestinationRule.TlsMode.DISABLE;
        if (m != null) {
            try {
                mode = DestinationRule.TlsMode.valueOf(m);
            } catch (IllegalArgumentException e) {
                r.problems().error(r.at("mode"), "unknown TLS mode \"" + m + "\"");
            }
        }
        boolean insecure = Boolean.TRUE.equals(r.bool("insecureSkipVerify"));
        // istiod's ValidateTLS: nothing to verify against may be named with insecureSkipVerify (a MUTUAL credential
        // is the client certificate, so it may be).
        if (insecure && mode == DestinationRule.TlsMode.SIMPLE
                && (r.has("caCertificates") || r.has("credentialName") || r.has("subjectAltNames"))) {
            r.problems().error(r.at("insecureSkipVerify"), "cannot specify caCertificates, credentialName or"
                    + " subjectAltNames when insecureSkipVerify is true");
        } else if (insecure && mode == DestinationRule.TlsMode.MUTUAL
                && (r.has("caCertificates") || r.has("subjectAltNames"))) {
            r.problems().error(r.at("insecureSkipVerify"), "cannot specify caCertificates or subjectAltNames when"
                    + " insecureSkipVerify is true");
        }
        return new Tls(mode, r.string("sni"), r.string("credentialName"), r.strings("subjectAltNames"), insecure);
    }

    private static Integer positive(SpecReader r, String f) {
        Integer v = r.integer(f);
        if (v != null && v < 1) {
            r.problems().error(r.at(f), "must be at least 1");
        }
        return v;
    }

    private static Integer nonNegative(SpecReader r, String f) {
        Integer v = r.integer(f);
        if (v != null && v < 0) {
            r.problems().error(r.at(f), "must not be negative");
        }
        return v;
    }
}
