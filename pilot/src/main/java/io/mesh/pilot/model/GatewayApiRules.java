package io.mesh.pilot.model;

import io.mesh.config.KubernetesGateway;
import io.mesh.config.KubernetesHttpRoute;
import io.mesh.config.Hosts;
import io.mesh.config.StringMatch;
import io.mesh.config.VirtualService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One HTTPRoute's rules as Istio HTTP routes, as istiod's conversion writes them: a rule with several matches becomes
 * one route per match; a route is named after its rule ({@code name}, else {@code NS.ROUTE.INDEX}); filters become
 * headers, redirect, rewrite, mirrors and the CORS policy ({@link GatewayApiCors}); backendRefs become weighted
 * destinations (FQDN and port; weight 0 dropped; all weights 0 or none, and no redirect: 503); timeouts and retry the
 * route's timeout and retries. A backend that is not a known Service keeps its destination, which then answers 500
 * (gateway semantics). Pure.
 */
final class GatewayApiRules {
    private GatewayApiRules() {
    }

    static List<VirtualService.HttpRoute> routes(KubernetesHttpRoute route, KubernetesGateway.Listener listener,
            Predicate<String> serviceExists, GatewayApiReferences references, List<String> warnings, String who) {
        List<VirtualService.HttpRoute> out = new ArrayList<>();
        for (int i = 0; i < route.rules().size(); i++) {
            KubernetesHttpRoute.Rule rule = route.rules().get(i);
            String name = rule.name() != null ? rule.name() : route.namespace() + "." + route.name() + "." + i;
            List<KubernetesHttpRoute.Match> matches = rule.matches().isEmpty()
                    ? java.util.Collections.singletonList(null) : rule.matches();
            for (KubernetesHttpRoute.Match m : matches) {
                out.add(route(route, rule, name, m, listener, serviceExists, references, warnings, who));
            }
        }
        return out;
    }

    private static VirtualService.HttpRoute route(KubernetesHttpRoute route, KubernetesHttpRoute.Rule rule, String name,
            KubernetesHttpRoute.Match m, KubernetesGateway.Listener listener, Predicate<String> serviceExists,
            GatewayApiReferences references, List<String> warnings, String who) {
        VirtualService.Headers headers = VirtualService.Headers.NONE;
        VirtualService.Redirect redirect = null;
        VirtualService.Rewrite rewrite = null;
        List<VirtualService.Mirror> mirrors = new ArrayList<>();
        KubernetesHttpRoute.HeaderModifier request = null;
        KubernetesHttpRoute.HeaderModifier response = null;
        VirtualService.CorsPolicy cors = null;
        for (KubernetesHttpRoute.Filter f : rule.filters()) {
            switch (f.type()) {
                case "RequestHeaderModifier" -> request = f.requestHeaders();
                case "ResponseHeaderModifier" -> response = f.responseHeaders();
                case "RequestRedirect" -> redirect = redirect(f.redirect(), listener);
                case "URLRewrite" -> rewrite = rewrite(f.rewrite());
                case "CORS" -> cors = GatewayApiCors.policy(f.cors());
                default -> mirrors.add(new VirtualService.Mirror(destination(route, f.mirror().backend(),
                        serviceExists, references, warnings, who), f.mirror().percent()));
            }
        }
        if (request != null || response != null) {
            headers = headers(request, response);
        }
        List<VirtualService.RouteDestination> destinations = new ArrayList<>();
        List<KubernetesHttpRoute.BackendRef> weighted = rule.backendRefs().stream().filter(b -> b.weight() > 0).toList();
        for (KubernetesHttpRoute.BackendRef b : weighted) {
            KubernetesHttpRoute.HeaderModifier rq = null;
            KubernetesHttpRoute.HeaderModifier rs = null;
            for (KubernetesHttpRoute.Filter f : b.filters()) {
                rq = f.requestHeaders() != null ? f.requestHeaders() : rq;
                rs = f.responseHeaders() != null ? f.responseHeaders() : rs;
            }
            destinations.add(new VirtualService.RouteDestination(destination(route, b, serviceExists, references,
                    warnings, who),
                    weighted.size() == 1 ? 100 : b.weight(), rq == null && rs == null ? VirtualService.Headers.NONE
                            : headers(rq, rs)));
        }
        VirtualService.DirectResponse direct = null;
        if (destinations.isEmpty() && redirect == null) {
            // No backend with a weight above 0: istiod answers 503 (its fault abort); here a direct response.
            direct = new VirtualService.DirectResponse(503, null);
            mirrors.clear();
            rewrite = null;
        }
        List<VirtualService.Match> match = m == null ? List.of() : List.of(match(m));
        VirtualService.Retries retries = retries(rule);
        return new VirtualService.HttpRoute(name, match, destinations, redirect, direct, rewrite, timeout(rule,
                retries != null), retries, null, mirrors, headers, cors, null);
    }

    /** Connection errors a rule's retry always retries, as the Gateway API asks and istiod writes them. */
    static final String RETRY_ON_CONNECTION_ERRORS = "connect-failure,refused-stream,unavailable,cancelled";

    /**
     * A rule's {@code retry} as istiod converts it: {@code attempts} (2 when unset, Istio's default; 0 turns retries
     * off, so no condition is written), the connection errors and each of the {@code codes} as {@code retryOn} (the
     * generator makes the codes Envoy's {@code retriable_status_codes}), {@code backoff} as the base interval;
     * {@code timeouts.backendRequest} is then the per-try timeout ({@link #timeout}). Null without a retry: the
     * route keeps Istio's default retries.
     */
    static VirtualService.Retries retries(KubernetesHttpRoute.Rule rule) {
        KubernetesHttpRoute.Retry retry = rule.retry();
        if (retry == null) {
            return null;
        }
        int attempts = retry.attempts() == null ? 2 : retry.attempts();
        StringBuilder on = new StringBuilder(RETRY_ON_CONNECTION_ERRORS);
        retry.codes().forEach(c -> on.append(',').append(c));
        Duration backend = rule.backendRequest();
        return new VirtualService.Retries(attempts, backend == null || backend.isZero() ? null : backend,
                attempts == 0 ? "" : on.toString(), retry.backoff());
    }

    /**
     * A rule's timeout as istiod takes its {@code timeouts} (0 is none): {@code backendRequest} when set, unless the
     * rule retries (it is then each try's), else {@code request}.
     */
    static Duration timeout(KubernetesHttpRoute.Rule rule, boolean retries) {
        Duration backend = rule.backendRequest();
        if (!retries && backend != null && !backend.isZero()) {
            return backend;
        }
        Duration request = rule.request();
        return request == null || request.isZero() ? null : request;
    }

    private static VirtualService.Match match(KubernetesHttpRoute.Match m) {
        StringMatch uri = m.path() == null ? new StringMatch(StringMatch.Type.PREFIX, "/") : switch (m.path().type()) {
            case "Exact" -> new StringMatch(StringMatch.Type.EXACT, m.path().value());
            case "RegularExpression" -> new StringMatch(StringMatch.Type.REGEX, m.path().value());
            default -> new StringMatch(StringMatch.Type.PREFIX, m.path().value());
        };
        return new VirtualService.Match(null, uri, null,
                m.method() == null ? null : new StringMatch(StringMatch.Type.EXACT, m.method()), null,
                values(m.headers()), Map.of(), values(m.queryParams()), null, false, List.of(), Map.of(), null);
    }

    static Map<String, StringMatch> values(List<KubernetesHttpRoute.ValueMatch> matches) {
        Map<String, StringMatch> out = new LinkedHashMap<>();
        for (KubernetesHttpRoute.ValueMatch v : matches) {
            out.put(v.name(), new StringMatch(v.type().equals("RegularExpression") ? StringMatch.Type.REGEX
                    : StringMatch.Type.EXACT, v.value()));
        }
        return out;
    }

    private static VirtualService.Headers headers(KubernetesHttpRoute.HeaderModifier rq,
            KubernetesHttpRoute.HeaderModifier rs) {
        return new VirtualService.Headers(rq == null ? Map.of() : rq.set(), rq == null ? Map.of() : rq.add(),
                rq == null ? List.of() : rq.remove(), rs == null ? Map.of() : rs.set(), rs == null ? Map.of() : rs.add(),
                rs == null ? List.of() : rs.remove());
    }

    /**
     * A RequestRedirect: a full path as the redirect's path, a prefix replacement as istiod marks it; without a port,
     * the well-known port of the redirect's scheme when it names one, else the listener's, left out when it is the
     * well-known port of the listener's scheme (80 for HTTP, 443 for HTTPS), as istiod's derivePort; on a sidecar
     * ({@code l} null: a mesh route) the request's port.
     */
    private static VirtualService.Redirect redirect(KubernetesHttpRoute.Redirect r, KubernetesGateway.Listener l) {
        String uri = r.path() == null ? null : r.path().type().equals("ReplaceFullPath") ? r.path().value()
                : "%PREFIX()%" + r.path().value();
        Integer port = r.port();
        if (port == null && r.scheme() == null && l != null) {
            String scheme = l.protocol().equals("HTTPS") ? "https" : "http";
            port = (scheme.equals("http") && l.port() == 80) || (scheme.equals("https") && l.port() == 443) ? null
                    : l.port();
        } else if (port != null && ((port == 80 && "http".equals(r.scheme())) || (port == 443
                && "https".equals(r.scheme())))) {
            port = null;
        }
        return new VirtualService.Redirect(uri, r.hostname(), r.statusCode() == null ? 302 : r.statusCode(),
                r.scheme(), port);
    }

    /** A URLRewrite, as istiod writes it: a prefix replacement ("" is "/"), or the full path by a regex. */
    private static VirtualService.Rewrite rewrite(KubernetesHttpRoute.Rewrite r) {
        if (r.path() == null) {
            return new VirtualService.Rewrite(null, r.hostname());
        }
        if (r.path().type().equals("ReplaceFullPath")) {
            return new VirtualService.Rewrite(null, r.hostname(), "/.*", r.path().value());
        }
        return new VirtualService.Rewrite(r.path().value().isEmpty() ? "/" : r.path().value(), r.hostname());
    }

    /**
     * A backend's destination: a Service's FQDN and port. A backend that is not a Service, or a Service in another
     * namespace that no ReferenceGrant lets the route refer to, is not served: its destination names no service, so
     * it answers 500, as istiod's invalid backends do.
     */
    static VirtualService.Destination destination(KubernetesHttpRoute route, KubernetesHttpRoute.BackendRef b,
            Predicate<String> serviceExists, GatewayApiReferences references, List<String> warnings, String who) {
        String ns = b.namespace() == null ? route.namespace() : b.namespace();
        if (!b.service()) {
            warnings.add(who + ": backendRef " + b.name() + " of group \"" + b.group() + "\" kind " + b.kind()
                    + " is not served (InvalidKind): requests to it get 500");
            return new VirtualService.Destination(b.name() + "." + ns + ".invalid-backend." + Hosts.DOMAIN_SUFFIX, null,
                    b.port());
        }
        String host = b.name() + "." + ns + "." + Hosts.DOMAIN_SUFFIX;
        if (!references.allows(references.routeKind(), route.namespace(),
                GatewayApiReferences.GroupKind.SERVICE, ns, b.name())) {
            warnings.add(who + ": backendRef " + ns + "/" + b.name() + " is in another namespace and no ReferenceGrant"
                    + " there permits it (RefNotPermitted): requests to it get 500");
            return new VirtualService.Destination(b.name() + "." + ns + ".not-permitted." + Hosts.DOMAIN_SUFFIX, null,
                    b.port());
        }
        if (!serviceExists.test(host)) {
            warnings.add(who + ": backendRef " + ns + "/" + b.name() + ": no Service " + host
                    + " (BackendNotFound): requests to it get 500");
        }
        return new VirtualService.Destination(host, null, b.port());
    }
}
