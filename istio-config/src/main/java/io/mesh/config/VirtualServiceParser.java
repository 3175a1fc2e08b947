package io.mesh.config;

import io.mesh.config.VirtualService.Destination;
import io.mesh.config.VirtualService.Headers;
import io.mesh.config.VirtualService.HttpRoute;
import io.mesh.config.VirtualService.Match;
import io.mesh.config.VirtualService.RouteDestination;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Validates a VirtualService spec as Istio does and turns it into an immutable {@link VirtualService}. */
public final class VirtualServiceParser {
    static final String ROUTE_SHAPE = "route: - destination: {host: ...}";
    /**
     * The retry conditions a VirtualService's {@code retryOn} may name besides HTTP status codes: Envoy's. Every proxy
     * of the mesh must accept each of them (the gateway's {@code RetryTranslationTest} checks it), or one such route
     * would make it reject its whole route configuration.
     */
    public static final Set<String> RETRY_CONDITIONS = Set.of("5xx", "gateway-error", "reset", "reset-before-request",
            "connect-failure", "envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes",
            "retriable-headers", "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal",
            "resource-exhausted", "unavailable");

    private VirtualServiceParser() {
    }

    public static VirtualService parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("hosts", "gateways", "http", "tcp", "tls", "exportTo");
        List<String> hosts = r.strings("hosts");
        List<String> gateways = r.strings("gateways");
        // As in Istio, a VirtualService without hosts is a delegate: its http routes serve only through a root
        // VirtualService's http[].delegate (Delegation).
        boolean delegate = hosts.isEmpty();
        if (delegate && !gateways.isEmpty()) {
            p.error("spec.gateways", "a delegate VirtualService (one without hosts) must have no gateways");
        }
        if (delegate && (r.has("tcp") || r.has("tls"))) {
            p.error("spec", "a delegate VirtualService (one without hosts) may have only http routes");
        }
        for (int i = 0; i < hosts.size(); i++) {
            String err = Hosts.check(hosts.get(i), true);
            if (err != null) {
                p.error("spec.hosts[" + i + "]", err);
            } else if (hosts.get(i).equals("*") && (gateways.isEmpty() || gateways.contains("mesh"))) {
                p.error("spec.hosts[" + i + "]", "wildcard host \"*\" is not allowed for the mesh gateway");
            }
        }
        List<VirtualService.L4Route> tls = new ArrayList<>();
        for (SpecReader route : r.list("tls")) {
            tls.add(l4Route(route, true));
        }
        List<VirtualService.L4Route> tcp = new ArrayList<>();
        for (SpecReader route : r.list("tcp")) {
            tcp.add(l4Route(route, false));
        }
        List<HttpRoute> http = new ArrayList<>();
        for (SpecReader route : r.list("http")) {
            HttpRoute h = route(route, delegate);
            if (h != null) {
                http.add(h);
            }
        }
        if (gateways.stream().allMatch("mesh"::equals)) {
            JwtClaimRoute.requireGateway(raw, gateways, p);
        }
        return new VirtualService(raw.namespace(), raw.name(), hosts, gateways, http, tls, tcp,
                ExportTo.read(r, raw.namespace(), false), raw.created());
    }

    /** A tls route (sniHosts required in each match) or a tcp route, validated as Istio does. */
    private static VirtualService.L4Route l4Route(SpecReader r, boolean tls) {
        Problems p = r.problems();
        r.allow("match", "route");
        List<VirtualService.L4Match> matches = new ArrayList<>();
        for (SpecReader m : r.list("match")) {
            if (tls) {
                m.allow("sniHosts", "destinationSubnets", "port", "sourceLabels", "gateways", "sourceNamespace");
            } else {
                m.allow("destinationSubnets", "port", "sourceLabels", "gateways", "sourceNamespace", "sourceSubnet");
            }
            List<String> sni = tls ? m.strings("sniHosts") : List.of();
            if (tls && sni.isEmpty()) {
                p.error(m.at("sniHosts"), "a TLS match needs at least one SNI host");
            }
            for (int i = 0; i < sni.size(); i++) {
                String err = Hosts.check(sni.get(i), true);
                if (err != null) {
                    p.error(m.at("sniHosts") + "[" + i + "]", err);
                }
            }
            Integer port = m.integer("port");
            if (port != null && (port < 1 || port > 65535)) {
                p.error(m.at("port"), "must be between 1 and 65535");
            }
            for (String inert : List.of("destinationSubnets", "sourceLabels", "sourceNamespace", "sourceSubnet")) {
                if (m.has(inert)) {
                    p.warn(m.at(inert), "has no effect here: proxies match " + (tls ? "tls routes by SNI and port"
                            : "tcp routes by port"));
                }
            }
            matches.add(new VirtualService.L4Match(sni, port, m.strings("gateways")));
        }
        if (tls && matches.isEmpty()) {
            p.error(r.at("match"), "a TLS route needs a match (sniHosts)");
        }
        List<RouteDestination> destinations = new ArrayList<>();
        for (SpecReader d : r.list("route")) {
            destinations.add(routeDestination(d));
        }
        if (destinations.isEmpty()) {
            p.error(r.at("route"), "at least one destination is required");
        }
        int total = destinations.stream().mapToInt(RouteDestination::weight).sum();
        if (destinations.size() > 1 && total != 100) {
            p.error(r.at("route"), "weights must sum to 100, got " + total);
        }
        if (destinations.size() == 1) {
            RouteDestination only = destinations.get(0);
            destinations.set(0, new RouteDestination(only.destination(), 100, only.headers()));
        }
        return new VirtualService.L4Route(matches, destinations);
    }

    private static HttpRoute route(SpecReader r, boolean inDelegate) {
        Problems p = r.problems();
        r.allow("name", "match", "route", "redirect", "directResponse", "delegate", "rewrite", "timeout", "retries",
                "fault", "mirror", "mirrorPercentage", "mirrorPercent", "mirrors", "corsPolicy", "headers");
        JsonNodeCheck.routeShape(r);
        List<Match> matches = new ArrayList<>();
        for (SpecReader m : r.list("match")) {
            matches.add(match(m));
        }
        List<RouteDestination> destinations = new ArrayList<>();
        if (r.raw("route") != null && r.raw("route").isArray()) {
            for (SpecReader d : r.list("route")) {
                destinations.add(routeDestination(d));
            }
        }
        VirtualService.Redirect redirect = null;
        SpecReader rd = r.object("redirect");
        if (rd != null) {
            rd.allow("uri", "authority", "redirectCode", "scheme", "port", "derivePort");
            Integer code = rd.integer("redirectCode");
            if (code != null && (code < 300 || code > 399)) {
                p.error(rd.at("redirectCode"), "must be a 3xx code, got " + code);
            }
            Integer redirectPort = rd.integer("port");
            if (redirectPort != null && (redirectPort < 1 || redirectPort > 65535)) {
                p.error(rd.at("port"), "must be between 1 and 65535");
            }
            redirect = new VirtualService.Redirect(rd.string("uri"), rd.string("authority"), code, rd.string("scheme"),
                    redirectPort);
        }
        VirtualService.DirectResponse direct = null;
        SpecReader dr = r.object("directResponse");
        if (dr != null) {
            dr.allow("status", "body");
            Integer status = dr.integer("status");
            if (status == null || status < 200 || status > 599) {
                p.error(dr.at("status"), "must be an HTTP status between 200 and 599");
            }
            SpecReader body = dr.object("body");
            String text = null;
            if (body != null) {
                body.allow("string", "bytes");
                text = body.string("string");
            }
            direct = new VirtualService.DirectResponse(status == null ? 0 : status, text);
        }
        VirtualService.Delegate delegate = null;
        SpecReader dg = r.object("delegate");
        if (dg != null) {
            dg.allow("name", "namespace");
            String name = dg.requiredString("name");
            String namespace = dg.string("namespace");
            if (namespace != null && !Hosts.isNamespace(namespace)) {
                p.error(dg.at("namespace"), "\"" + namespace + "\" is not a namespace name");
            }
            if (inDelegate) {
                p.error(r.at("delegate"), "delegate applies only to a root VirtualService (one with hosts), not in a delegate");
            }
            delegate = new VirtualService.Delegate(name == null ? "" : name, namespace);
        }
        int actions = (destinations.isEmpty() ? 0 : 1) + (redirect == null ? 0 : 1) + (direct == null ? 0 : 1)
                + (delegate == null ? 0 : 1);
        if (actions == 0 && !p.hasErrors()) {
            p.error(r.path(), "one of route, redirect, directResponse or delegate is required");
        } else if (actions > 1) {
            p.error(r.path(), "only one of route, redirect, directResponse or delegate may be set");
        }
        int total = 0;
        boolean anyWeight = false;
        for (int i = 0; i < destinations.size(); i++) {
            int w = destinations.get(i).weight();
            if (w < 0) {
                p.error(r.at("route") + "[" + i + "].weight", "must not be negative");
            }
            anyWeight |= r.raw("route").get(i).has("weight");
            total += w;
        }
        if (destinations.size() > 1 || anyWeight) {
            if (total != 100) {
                p.error(r.at("route"), "weights must sum to 100, got " + total);
            }
        }
        if (destinations.size() == 1 && !anyWeight) {
            RouteDestination only = destinations.get(0);
            destinations.set(0, new RouteDestination(only.destination(), 100, only.headers()));
        }
        VirtualService.Rewrite rewrite = null;
        SpecReader rw = r.object("rewrite");
        if (rw != null) {
            rw.allow("uri", "authority", "uriRegexRewrite");
            String regexMatch = null;
            String regexRewrite = null;
            SpecReader rx = rw.object("uriRegexRewrite");
            if (rx != null) {
                rx.allow("match", "rewrite");
                regexMatch = rx.requiredString("match");
                regexRewrite = rx.string("rewrite") == null ? "" : rx.string("rewrite");
                if (regexMatch != null) {
                    try {
                        java.util.regex.Pattern.compile(regexMatch);
                    } catch (RuntimeException e) {
                        p.error(rx.at("match"), "invalid regex \"" + regexMatch + "\"");
                    }
                }
                if (rw.has("uri")) {
                    p.error(rw.at("uriRegexRewrite"), "uri and uriRegexRewrite cannot both be set");
                }
            }
            rewrite = new VirtualService.Rewrite(rw.string("uri"), rw.string("authority"), regexMatch, regexRewrite);
        }
        VirtualService.Retries retries = null;
        SpecReader rt = r.object("retries");
        if (rt != null) {
            rt.allow("attempts", "perTryTimeout", "retryOn", "retryRemoteLocalities", "backoff");
            Integer attempts = rt.integer("attempts");
            if (attempts != null && attempts < 0) {
                p.error(rt.at("attempts"), "must not be negative");
            }
            java.time.Duration perTry = rt.duration("perTryTimeout");
            if (perTry != null && perTry.toMillis() < 1) {
                p.error(rt.at("perTryTimeout"), "must be at least 1ms");
            }
            String retryOn = rt.string("retryOn");
            if (retryOn != null) {
                for (String token : retryOn.split(",")) {
                    String t = token.trim();
                    if (!RETRY_CONDITIONS.contains(t) && !t.matches("[1-5]\\d\\d")) {
                        p.error(rt.at("retryOn"), "unknown retry condition \"" + t + "\"");
                    }
                }
            }
            java.time.Duration backoff = rt.duration("backoff");
            if (backoff != null && backoff.toMillis() < 1) {
                p.error(rt.at("backoff"), "must be at least 1ms");
            }
            retries = new VirtualService.Retries(attempts == null ? 2 : attempts, perTry, retryOn, backoff);
        }
        java.time.Duration timeout = r.duration("timeout");
        VirtualService.Fault fault = fault(r.object("fault"));
        List<VirtualService.Mirror> mirrors = new ArrayList<>();
        SpecReader mr = r.object("mirror");
        if (mr != null) {
            Double percent = null;
            SpecReader mp = r.object("mirrorPercentage");
            if (mp != null) {
                mp.allow("value");
                percent = percent(mp, "value");
            } else if (r.has("mirrorPercent")) {
                percent = percent(r, "mirrorPercent");  // the deprecated integer form
            }
            mirrors.add(new VirtualService.Mirror(destination(mr), percent));
        }
        List<SpecReader> many = r.list("mirrors");
        if (mr != null && !many.isEmpty()) {
            p.error(r.at("mirrors"), "mirror and mirrors cannot both be set");
        }
        for (SpecReader m : many) {
            m.allow("destination", "percentage");
            SpecReader d = m.object("destination");
            if (d == null) {
                p.error(m.at("destination"), "is required");
                continue;
            }
            SpecReader mp = m.object("percentage");
            if (mp != null) {
                mp.allow("value");
            }
            mirrors.add(new VirtualService.Mirror(destination(d), mp == null ? null : percent(mp, "value")));
        }
        return new HttpRoute(r.string("name"), matches, destinations, redirect, direct, rewrite, timeout, retries,
                fault, mirrors, headers(r.object("headers")), cors(r.object("corsPolicy")), delegate);
    }

    static final Set<String> CORS_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
            "TRACE", "PATCH", "*");
    private static final java.util.regex.Pattern HEADER_NAME = java.util.regex.Pattern.compile("[-_A-Za-z0-9]+|\\*");

    /** Istio's CorsPolicy, validated as Istio does (methods, header names, a max age in whole seconds). */
    private static VirtualService.CorsPolicy cors(SpecReader c) {
        if (c == null) {
            return null;
        }
        Problems p = c.problems();
        c.allow("allowOrigins", "allowOrigin", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge",
                "allowCredentials", "unmatchedPreflights");
        List<StringMatch> origins = new ArrayList<>();
        for (SpecReader o : c.list("allowOrigins")) {
            StringMatch sm = StringMatch.read(o);
            if (sm != null) {
                if (sm.value() == null || sm.value().isEmpty()) {
                    p.error(o.path(), "an allowed origin must not be empty");
                }
                origins.add(sm);
            }
        }
        c.strings("allowOrigin").forEach(o -> origins.add(new StringMatch(StringMatch.Type.EXACT, o)));
        List<String> methods = c.strings("allowMethods");
        for (int i = 0; i < methods.size(); i++) {
            if (!CORS_METHODS.contains(methods.get(i))) {
                p.error(c.at("allowMethods") + "[" + i + "]", "\"" + methods.get(i) + "\" is not a supported HTTP method");
            }
        }
        for (String field : List.of("allowHeaders", "exposeHeaders")) {
            List<String> names = c.strings(field);
            for (int i = 0; i < names.size(); i++) {
                if (!HEADER_NAME.matcher(names.get(i)).matches()) {
                    p.error(c.at(field) + "[" + i + "]", "\"" + names.get(i) + "\" is not a valid header name");
                }
            }
        }
        java.time.Duration maxAge = c.duration("maxAge");
        if (maxAge != null && (maxAge.getNano() != 0 || maxAge.isNegative())) {
            p.error(c.at("maxAge"), "must be whole seconds (max_age is accurate only to seconds precision)");
        }
        String unmatched = c.string("unmatchedPreflights");
        if (unmatched != null && !Set.of("UNSPECIFIED", "FORWARD", "IGNORE").contains(unmatched)) {
            p.error(c.at("unmatchedPreflights"), "must be FORWARD or IGNORE, got \"" + unmatched + "\"");
        }
        Boolean credentials = c.bool("allowCredentials");
        return new VirtualService.CorsPolicy(origins, methods, c.strings("allowHeaders"), c.strings("exposeHeaders"),
                maxAge, credentials != null && credentials, !"IGNORE".equals(unmatched));
    }

    private static Match match(SpecReader m) {
        m.allow("name", "uri", "scheme", "method", "authority", "headers", "port", "sourceLabels", "gateways",
                "queryParams", "ignoreUriCase", "withoutHeaders", "sourceNamespace", "statPrefix");
        Integer port = m.integer("port");
        if (port != null && (port < 1 || port > 65535)) {
            m.problems().error(m.at("port"), "must be between 1 and 65535");
        }
        Boolean ignoreCase = m.bool("ignoreUriCase");
        // statPrefix names the route's stats in Envoy; it is accepted and does not change routing.
        return new Match(m.string("name"), stringMatch(m, "uri"), stringMatch(m, "scheme"), stringMatch(m, "method"),
                stringMatch(m, "authority"), matchMap(m, "headers"), matchMap(m, "withoutHeaders"),
                matchMap(m, "queryParams"), port, ignoreCase != null && ignoreCase, m.strings("gateways"),
                m.stringMap("sourceLabels"), m.string("sourceNamespace"));
    }

    private static StringMatch stringMatch(SpecReader m, String field) {
        SpecReader s = m.object(field);
        return s == null ? null : StringMatch.read(s);
    }

    private static Map<String, StringMatch> matchMap(SpecReader m, String field) {
        SpecReader s = m.object(field);
        Map<String, StringMatch> out = new LinkedHashMap<>();
        if (s == null) {
            return out;
        }
        boolean headers = !field.equals("queryParams");
        s.node().fieldNames().forEachRemaining(name -> {
            SpecReader v = s.object(name);
            if (v != null) {
                StringMatch sm = StringMatch.read(v, true);
                String key = headers ? JwtClaimRoute.headerKey(name, s) : name;
                if (sm != null && key != null) {
                    out.put(key, sm);
                }
            }
        });
        return out;
    }

    private static RouteDestination routeDestination(SpecReader d) {
        d.allow("destination", "weight", "headers");
        SpecReader dest = d.object("destination");
        if (dest == null) {
            d.problems().error(d.at("destination"), "is required (a route is written \"" + ROUTE_SHAPE + "\")");
            return new RouteDestination(new Destination("", null, null), 0, Headers.NONE);
        }
        Integer weight = d.integer("weight");
        return new RouteDestination(destination(dest), weight == null ? 0 : weight, headers(d.object("headers")));
    }

    static Destination destination(SpecReader dest) {
        dest.allow("host", "subset", "port");
        String host = dest.requiredString("host");
        if (host != null && !host.isEmpty()) {
            String err = Hosts.check(host, false);
            if (err != null) {
                dest.problems().error(dest.at("host"), err);
            }
        }
        Integer port = null;
        SpecReader pr = dest.object("port");
        if (pr != null) {
            pr.allow("number");
            port = pr.integer("number");
            if (port == null || port < 1 || port > 65535) {
                dest.problems().error(pr.at("number"), "must be between 1 and 65535");
            }
        }
        return new Destination(host == null ? "" : host, dest.string("subset"), port);
    }

    private static VirtualService.Fault fault(SpecReader f) {
        if (f == null) {
            return null;
        }
        f.allow("delay", "abort");
        java.time.Duration delay = null;
        Double delayPercent = null;
        Integer abortStatus = null;
        Integer grpcStatus = null;
        Double abortPercent = null;
        SpecReader d = f.object("delay");
        if (d != null) {
            d.allow("fixedDelay", "percentage", "percent", "exponentialDelay");
            delay = d.duration("fixedDelay");
            if (delay == null) {
                f.problems().error(d.at("fixedDelay"), "is required");
            }
            delayPercent = percentage(d);
        }
        SpecReader a = f.object("abort");
        if (a != null) {
            a.allow("httpStatus", "grpcStatus", "http2Error", "percentage");
            abortStatus = a.integer("httpStatus");
            String grpc = a.string("grpcStatus");
            if (grpc != null) {
                try {
                    grpcStatus = io.grpc.Status.Code.valueOf(grpc).value();
                } catch (IllegalArgumentException e) {
                    f.problems().error(a.at("grpcStatus"), "unknown gRPC status \"" + grpc + "\"");
                }
            }
            if (abortStatus == null && grpcStatus == null) {
                f.problems().error(a.path(), "httpStatus or grpcStatus is required");
            } else if (abortStatus != null && (abortStatus < 200 || abortStatus > 599)) {
                f.problems().error(a.at("httpStatus"), "must be between 200 and 599");
            }
            abortPercent = percentage(a);
        }
        return new VirtualService.Fault(delay, delayPercent, abortStatus, grpcStatus, abortPercent);
    }

    private static Double percentage(SpecReader r) {
        SpecReader p = r.object("percentage");
        if (p == null) {
            return 100.0;
        }
        p.allow("value");
        return percent(p, "value");
    }

    private static Double percent(SpecReader p, String field) {
        Double v = p.number(field);
        if (v != null && (v < 0 || v > 100)) {
            p.problems().error(p.at(field), "percentage must be between 0 and 100");
        }
        return v;
    }

    static Headers headers(SpecReader h) {
        if (h == null) {
            return Headers.NONE;
        }
        h.allow("request", "response");
        SpecReader rq = h.object("request");
        SpecReader rs = h.object("response");
        if (rq != null) {
            rq.allow("set", "add", "remove");
        }
        if (rs != null) {
            rs.allow("set", "add", "remove");
        }
        return new Headers(rq == null ? Map.of() : rq.stringMap("set"), rq == null ? Map.of() : rq.stringMap("add"),
                rq == null ? List.of() : rq.strings("remove"), rs == null ? Map.of() : rs.stringMap("set"),
                rs == null ? Map.of() : rs.stringMap("add"), rs == null ? List.of() : rs.strings("remove"));
    }

    /** Checks the shape of {@code route} before reading it, so the seed article's mistake gets a useful message. */
    static final class JsonNodeCheck {
        private JsonNodeCheck() {
        }

        static void routeShape(SpecReader r) {
            com.fasterxml.jackson.databind.JsonNode route = r.raw("route");
            if (route == null || route.isArray()) {
                return;
            }
            if (route.isObject() && route.has("destinations")) {
                r.problems().error(r.at("route"), "\"route: destinations: [...]\" is not Istio's shape; a route is a"
                        + " list of destinations, each with an optional weight: \"" + ROUTE_SHAPE + "\"");
            } else {
                r.problems().error(r.at("route"), "must be a list of destinations: \"" + ROUTE_SHAPE + "\"");
            }
        }
    }
}
