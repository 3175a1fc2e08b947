package io.mesh.pilot.model;

import io.mesh.config.KubernetesGateway;
import io.mesh.config.KubernetesGrpcRoute;
import io.mesh.config.KubernetesHttpRoute;
import io.mesh.config.StringMatch;
import io.mesh.config.VirtualService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The Kubernetes Gateway API's GRPCRoutes as Istio HTTP routes, as istiod's convertGRPCRoute writes them: each rule is
 * an HTTPRoute rule without matches ({@link #view}), built by {@link GatewayApiRules} (filters, weighted backends, 503
 * without a backend, backend checks), then one route per gRPC match, whose method becomes a URI match on
 * {@code /SERVICE/METHOD} ({@link #match}) and whose headers stay header matches. Pure.
 */
final class GatewayApiGrpcRoutes {
    private GatewayApiGrpcRoutes() {
    }

    /** The GRPCRoute as an HTTPRoute without matches: its parents, hostnames, and rules' filters and backends. */
    static GatewayApiRouteView view(KubernetesGrpcRoute g) {
        List<KubernetesHttpRoute.Rule> rules = g.rules().stream().map(r -> new KubernetesHttpRoute.Rule(r.name(),
                List.of(), r.filters(), r.backendRefs())).toList();
        return new GatewayApiRouteView("GRPCRoute", new KubernetesHttpRoute(g.namespace(), g.name(), g.parentRefs(),
                g.hostnames(), rules, g.created()));
    }

    /**
     * The VirtualServices of the HTTPRoutes ({@link GatewayApiRoutes#translate}) with the GRPCRoutes' routes added, as
     * istiod's buildGRPCVirtualServices does after the HTTPRoutes: into the one VirtualService of the listener and
     * hostname (a new one, in the GRPCRoute's namespace, where no HTTPRoute made it), oldest GRPCRoute first, then
     * sorted again by the Gateway API's precedence ({@link GatewayApiRoutes#PRECEDENCE}; stable, so HTTPRoutes' routes
     * stay ahead of equal GRPCRoute ones).
     */
    static List<VirtualService> merge(List<VirtualService> http, List<KubernetesGrpcRoute> grpc,
            Map<String, List<GatewayApiGateways.Listener>> listeners, Predicate<String> serviceExists,
            GatewayApiReferences references, List<String> warnings) {
        Map<String, VirtualService> byName = new java.util.LinkedHashMap<>();
        http.forEach(vs -> byName.put(vs.name(), vs));
        List<KubernetesGrpcRoute> sorted = grpc.stream().sorted((a, b) -> GatewayApiRoutes.ORDER.compare(
                view(a).route(), view(b).route())).toList();
        for (KubernetesGrpcRoute g : sorted) {
            GatewayApiRouteView view = view(g);
            for (GatewayApiGateways.Listener l : GatewayApiRoutes.parents(view.route(), view.kind(), listeners,
                    warnings, view.who())) {
                List<VirtualService.HttpRoute> routes = routes(g, l.listener(), serviceExists, references, warnings);
                for (String host : g.hostnames().isEmpty() ? List.of("*") : g.hostnames()) {
                    // The HTTPRoutes' name of the listener's and hostname's VirtualService.
                    String name = (l.internalName() + "~" + host).replace('/', '~');
                    VirtualService vs = byName.get(name);
                    List<VirtualService.HttpRoute> all = new ArrayList<>(vs == null ? List.of() : vs.http());
                    all.addAll(routes);
                    all.sort(GatewayApiRoutes.PRECEDENCE);
                    byName.put(name, vs == null
                            ? new VirtualService(g.namespace(), name, List.of(host), List.of(l.internalName()), all,
                                    List.of(), List.of(), List.of(), g.created(), true)
                            : new VirtualService(vs.namespace(), name, vs.hosts(), vs.gateways(), all, vs.tls(),
                                    vs.tcp(), vs.exportTo(), vs.created(), true));
                }
            }
        }
        return new ArrayList<>(byName.values());
    }

    /** The route's HTTP routes on a listener: per rule (named as an HTTPRoute's), one per match (none: one). */
    static List<VirtualService.HttpRoute> routes(KubernetesGrpcRoute g, KubernetesGateway.Listener listener,
            Predicate<String> serviceExists, GatewayApiReferences references, List<String> warnings) {
        GatewayApiRouteView view = view(g);
        // The view's rules have no match, so there is exactly one route per rule, in order.
        List<VirtualService.HttpRoute> perRule = GatewayApiRules.routes(view.route(), listener, serviceExists,
                references.forRouteKind(view.kind()), warnings, view.who());
        List<VirtualService.HttpRoute> out = new ArrayList<>();
        for (int i = 0; i < g.rules().size(); i++) {
            VirtualService.HttpRoute r = perRule.get(i);
            if (g.rules().get(i).matches().isEmpty()) {
                out.add(r);
                continue;
            }
            for (KubernetesGrpcRoute.Match m : g.rules().get(i).matches()) {
                out.add(new VirtualService.HttpRoute(r.name(), List.of(match(m)), r.route(), r.redirect(),
                        r.directResponse(), r.rewrite(), r.timeout(), r.retries(), r.fault(), r.mirrors(), r.headers(),
                        r.cors(), r.delegate()));
            }
        }
        return out;
    }

    /** A gRPC match as istiod's createGRPCURIMatch and header match: no method is no URI match. */
    static VirtualService.Match match(KubernetesGrpcRoute.Match m) {
        return new VirtualService.Match(null, uri(m.method()), null, null, null, GatewayApiRules.values(m.headers()),
                Map.of(), Map.of(), null, false, List.of(), Map.of(), null);
    }

    /**
     * A gRPC request's path is {@code /SERVICE/METHOD}. Exact: both give that exact path, a service alone the prefix
     * {@code /SERVICE/}, a method alone the regex {@code /[^/]+/METHOD}. RegularExpression: the regex
     * {@code /SERVICE/METHOD}, a missing service {@code [^/]+}, a missing method {@code .+}.
     */
    static StringMatch uri(KubernetesGrpcRoute.MethodMatch m) {
        if (m == null) {
            return null;
        }
        if (m.type().equals("RegularExpression")) {
            String service = m.service() == null ? "[^/]+" : m.service();
            return new StringMatch(StringMatch.Type.REGEX, "/" + service + "/" + (m.method() == null ? ".+"
                    : m.method()));
        }
        if (m.method() == null) {
            return new StringMatch(StringMatch.Type.PREFIX, "/" + m.service() + "/");
        }
        if (m.service() == null) {
            return new StringMatch(StringMatch.Type.REGEX, "/[^/]+/" + m.method());
        }
        return new StringMatch(StringMatch.Type.EXACT, "/" + m.service() + "/" + m.method());
    }
}
