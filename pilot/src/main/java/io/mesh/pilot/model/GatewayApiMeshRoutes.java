package io.mesh.pilot.model;

import io.mesh.config.KubernetesGrpcRoute;
import io.mesh.config.KubernetesHttpRoute;
import io.mesh.config.VirtualService;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * GAMMA: HTTPRoutes and GRPCRoutes whose parentRef is a mesh parent ({@link GatewayApiMeshParents}: a Service, or an
 * Istio ServiceEntry) as the mesh VirtualServices istiod's route collections make for sidecars: the route's rules
 * (built as for a Gateway, {@link GatewayApiRules}, with no ReferenceGrant needed for a backend:
 * {@link GatewayApiReferences#ANY}) on each host of the parent (a Service's {@code NAME.NS.svc.cluster.local}, a
 * ServiceEntry's hosts; the route's hostnames are not read), {@code gateways: [mesh]}; a parentRef's {@code port} adds
 * that port to every match (a rule without a match gets one of the port alone). One VirtualService per route
 * namespace, port and host holds every such route's rules (HTTPRoutes then GRPCRoutes, oldest first), sorted by the
 * Gateway API's precedence, named after that key as istiod's mergeHTTPRoutes names it ({@code NS~HOST},
 * {@code NS~PORT~HOST}) and in the routes' namespace, exported as any VirtualService is (istiod sets no exportTo):
 * which sidecars a route in another namespace than its parent's (GAMMA's consumer route) reaches is the sidecar's
 * choice ({@link MeshSnapshot#meshHttpRoutes}). A parent that does not exist attaches nothing (NoMatchingParent). Pure.
 */
final class GatewayApiMeshRoutes {
    static final String MESH = "mesh";

    private GatewayApiMeshRoutes() {
    }

    static List<VirtualService> translate(List<KubernetesHttpRoute> httpRoutes, List<KubernetesGrpcRoute> grpcRoutes,
            GatewayApiMeshParents parents, Predicate<String> serviceExists, List<String> warnings) {
        Map<String, Builder> byKey = new LinkedHashMap<>();
        for (KubernetesHttpRoute route : httpRoutes.stream().sorted(GatewayApiRoutes.ORDER).toList()) {
            String who = "HTTPRoute " + route.namespace() + "/" + route.name();
            add(byKey, route, who, parents, warnings, () -> GatewayApiRules.routes(route, null, serviceExists,
                    GatewayApiReferences.ANY, warnings, who));
        }
        List<KubernetesGrpcRoute> grpc = grpcRoutes.stream().sorted((a, b) -> GatewayApiRoutes.ORDER.compare(
                GatewayApiGrpcRoutes.view(a).route(), GatewayApiGrpcRoutes.view(b).route())).toList();
        for (KubernetesGrpcRoute g : grpc) {
            GatewayApiRouteView view = GatewayApiGrpcRoutes.view(g);
            add(byKey, view.route(), view.who(), parents, warnings, () -> GatewayApiGrpcRoutes.routes(g, null,
                    serviceExists, GatewayApiReferences.ANY, warnings));
        }
        List<VirtualService> out = new ArrayList<>();
        byKey.values().forEach(b -> {
            List<VirtualService.HttpRoute> sorted = new ArrayList<>(b.http);
            sorted.sort(GatewayApiRoutes.PRECEDENCE);
            out.add(new VirtualService(b.namespace, b.name, List.of(b.host), List.of(MESH), sorted, List.of(),
                    List.of(), List.of(), b.created, true));
        });
        return out;
    }

    /** The route's rules, built once and only when one of its parents is a mesh parent that exists. */
    private static void add(Map<String, Builder> byKey, KubernetesHttpRoute route, String who,
            GatewayApiMeshParents parents, List<String> warnings,
            java.util.function.Supplier<List<VirtualService.HttpRoute>> rules) {
        List<VirtualService.HttpRoute> http = null;
        for (KubernetesHttpRoute.ParentRef ref : route.parentRefs()) {
            if (!ref.mesh()) {
                continue;
            }
            GatewayApiMeshParents.Parent parent = parents.resolve(route, ref);
            if (!parent.found()) {
                warnings.add(GatewayApiMeshParents.warning(who, parent));
                continue;
            }
            if (http == null) {
                http = rules.get();
            }
            List<VirtualService.HttpRoute> onParent = ref.port() == null ? http : onPort(http, ref.port());
            for (String host : parent.hosts()) {
                String key = route.namespace() + (ref.port() == null ? "" : "/" + ref.port()) + "/" + host;
                byKey.computeIfAbsent(key, k -> new Builder(route, key.replace('/', '~'), host)).http.addAll(onParent);
            }
        }
    }

    /** istiod's augmentPortMatch: every match also on the port, a route without a match one of the port alone. */
    static List<VirtualService.HttpRoute> onPort(List<VirtualService.HttpRoute> routes, int port) {
        List<VirtualService.HttpRoute> out = new ArrayList<>();
        for (VirtualService.HttpRoute r : routes) {
            List<VirtualService.Match> matches = r.match().isEmpty()
                    ? List.of(new VirtualService.Match(null, null, null, null, null, Map.of(), Map.of(), Map.of(),
                            port, false, List.of(), Map.of(), null))
                    : r.match().stream().map(m -> new VirtualService.Match(m.name(), m.uri(), m.scheme(), m.method(),
                            m.authority(), m.headers(), m.withoutHeaders(), m.queryParams(), port, m.ignoreUriCase(),
                            m.gateways(), m.sourceLabels(), m.sourceNamespace())).toList();
            out.add(new VirtualService.HttpRoute(r.name(), matches, r.route(), r.redirect(), r.directResponse(),
                    r.rewrite(), r.timeout(), r.retries(), r.fault(), r.mirrors(), r.headers(), r.cors(),
                    r.delegate()));
        }
        return out;
    }

    private static final class Builder {
        final String namespace;
        final String name;
        final String host;
        final Instant created;
        final List<VirtualService.HttpRoute> http = new ArrayList<>();

        Builder(KubernetesHttpRoute first, String name, String host) {
            this.namespace = first.namespace();
            this.name = name;
            this.host = host;
            this.created = first.created();
        }
    }
}
