package io.mesh.pilot.model;

import io.mesh.config.Hosts;
import io.mesh.config.KubernetesGateway;
import io.mesh.config.KubernetesHttpRoute;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The status istiod writes on Gateway API objects, computed from the same rules as {@link GatewayApiTranslation}: a
 * Gateway's {@code Accepted} and {@code Programmed} (False, AddressNotAssigned, when no router serves it), each
 * listener's {@code Accepted}, {@code ResolvedRefs}, {@code Programmed} and attached routes; an HTTPRoute's parents'
 * {@code Accepted} and {@code ResolvedRefs}, with istiod's reasons. Pure.
 */
public final class GatewayApiStatus {
    /** istiod's controller name, which an HTTPRoute's parent status names. */
    public static final String CONTROLLER = "istio.io/gateway-controller";

    private GatewayApiStatus() {
    }

    /** One condition; {@code status} "True" or "False". */
    public record Condition(String type, String status, String reason, String message) {
        static Condition of(String type, String failure, String message) {
            return failure == null ? new Condition(type, "True", type, message) : new Condition(type, "False", failure,
                    message);
        }
    }

    /** {@code supportedKinds}: the route kinds (of the Gateway API's group) the listener takes. */
    public record ListenerStatus(String name, int attachedRoutes, List<Condition> conditions,
            List<String> supportedKinds) {
    }

    public record GatewayStatus(String namespace, String name, List<Condition> conditions,
            List<ListenerStatus> listeners) {
    }

    /** One parent of a route: the parentRef as written (namespace filled in), and its conditions. */
    public record ParentStatus(KubernetesHttpRoute.ParentRef parentRef, String namespace, List<Condition> conditions) {
    }

    /** {@code kind}: HTTPRoute, GRPCRoute, TLSRoute or TCPRoute. */
    public record RouteStatus(String kind, String namespace, String name, List<ParentStatus> parents) {
    }

    /** {@code policies}: the BackendTLSPolicies' ancestors ({@link GatewayApiBackendTls}). */
    public record Result(List<GatewayStatus> gateways, List<RouteStatus> routes,
            List<GatewayApiBackendTls.PolicyStatus> policies) {
    }

    /**
     * A mesh parent's status (GAMMA: a Service or ServiceEntry, {@link GatewayApiMeshParents}), as istiod's for a mesh
     * parent of any route kind: {@code Accepted} when the parent exists (else NoMatchingParent, istiod's "parent
     * service: NAME not found" or "parent service entry: NAME not found"), {@code ResolvedRefs} of the backends with no
     * ReferenceGrant needed ({@link GatewayApiReferences#ANY}).
     */
    private static ParentStatus meshParent(GatewayApiRouteView view, KubernetesHttpRoute.ParentRef ref,
            GatewayApiMeshParents meshParents, Set<String> services) {
        KubernetesHttpRoute route = view.route();
        GatewayApiMeshParents.Parent parent = meshParents.resolve(route, ref);
        String backendProblem = backendProblem(route, services::contains,
                GatewayApiReferences.ANY.forRouteKind(view.kind()));
        return new ParentStatus(ref, parent.namespace(), List.of(
                Condition.of("Accepted", parent.found() ? null : "NoMatchingParent", parent.found() ? "Route was valid"
                        : parent.problem()),
                Condition.of("ResolvedRefs", backendProblem == null ? null
                        : backendProblem.substring(0, backendProblem.indexOf(':')),
                        backendProblem == null ? "All references resolved"
                                : backendProblem.substring(backendProblem.indexOf(':') + 2))));
    }

    /**
     * The status of the istio-class {@code gateways} as {@code translated} ({@link GatewayApiGateways}), and of the
     * {@code routes}' and {@code others}' parents (GRPCRoutes, TLSRoutes, TCPRoutes, each as an HTTPRoute), with the
     * ServiceEntries mesh parents may name; no policies ({@link GatewayApiTranslation#status} adds them).
     */
    static Result of(GatewayApiGateways.Result translated, List<KubernetesGateway> gateways,
            List<KubernetesHttpRoute> routes, List<GatewayApiRouteView> others, Set<String> services,
            List<io.mesh.config.ServiceEntry> serviceEntries, Set<String> credentials,
            GatewayApiReferences references) {
        GatewayApiMeshParents meshParents = new GatewayApiMeshParents(services::contains, serviceEntries);
        List<RouteStatus> routeStatus = new ArrayList<>();
        Map<GatewayApiGateways.Listener, Integer> attached = new java.util.HashMap<>();
        List<GatewayApiRouteView> all = new ArrayList<>();
        routes.forEach(r -> all.add(new GatewayApiRouteView("HTTPRoute", r)));
        all.addAll(others);
        for (GatewayApiRouteView view : all) {
            KubernetesHttpRoute route = view.route();
            List<ParentStatus> parents = new ArrayList<>();
            String backendProblem = backendProblem(route, services::contains, references.forRouteKind(view.kind()));
            for (KubernetesHttpRoute.ParentRef ref : route.parentRefs()) {
                if (ref.mesh()) {
                    parents.add(meshParent(view, ref, meshParents, services));
                    continue;
                }
                if (!ref.gateway()) {
                    continue;
                }
                String ns = ref.namespace() == null ? route.namespace() : ref.namespace();
                List<GatewayApiGateways.Listener> of = translated.listeners().get(ns + "/" + ref.name());
                if (of == null) {
                    continue;   // not an istio-class Gateway: another controller's to report on
                }
                String denied = "NoMatchingParent";
                String message = "no listener matches the parentRef";
                for (GatewayApiGateways.Listener l : of) {
                    if ((ref.sectionName() != null && !ref.sectionName().equals(l.listener().name()))
                            || (ref.port() != null && ref.port() != l.listener().port())) {
                        continue;
                    }
                    String why = GatewayApiRoutes.denied(route, view.kind(), l);
                    if (why == null && l.server() != null) {
                        attached.merge(l, 1, Integer::sum);
                        denied = null;
                        message = "Route was valid";
                    } else if (denied != null) {
                        denied = why == null ? "NoMatchingParent" : why.substring(why.lastIndexOf('(') + 1,
                                why.length() - 1);
                        message = why == null ? l.problem() : why;
                    }
                }
                parents.add(new ParentStatus(ref, ns, List.of(Condition.of("Accepted", denied, message),
                        Condition.of("ResolvedRefs", backendProblem == null ? null
                                : backendProblem.substring(0, backendProblem.indexOf(':')),
                                backendProblem == null ? "All references resolved"
                                        : backendProblem.substring(backendProblem.indexOf(':') + 2)))));
            }
            if (!parents.isEmpty()) {
                routeStatus.add(new RouteStatus(view.kind(), route.namespace(), route.name(), parents));
            }
        }
        List<GatewayStatus> gatewayStatus = new ArrayList<>();
        for (KubernetesGateway kgw : gateways) {
            List<GatewayApiGateways.Listener> ls = translated.listeners().get(kgw.namespace() + "/" + kgw.name());
            if (ls == null) {
                continue;
            }
            String unassigned = ls.stream().map(GatewayApiGateways.Listener::problem)
                    .filter(p -> p != null && p.startsWith("no workload")).findFirst().orElse(null);
            List<ListenerStatus> listeners = new ArrayList<>();
            for (GatewayApiGateways.Listener l : ls) {
                String problem = unassigned == null ? l.problem() : null;
                String refs = certificateProblem(kgw, l.listener(), credentials, references);
                if (refs == null && GatewayApiRoutes.invalidRouteKinds(l.listener())) {
                    refs = "InvalidRouteKinds: Invalid route kinds";
                }
                boolean accepted = problem == null || !problem.contains("not served");
                listeners.add(new ListenerStatus(l.listener().name(), attached.getOrDefault(l, 0), List.of(
                        Condition.of("Accepted", accepted ? null : "UnsupportedProtocol", accepted
                                ? "No errors found" : problem),
                        Condition.of("ResolvedRefs", refs == null ? null : refs.startsWith("RefNotPermitted")
                                ? "RefNotPermitted" : refs.startsWith("InvalidRouteKinds") ? "InvalidRouteKinds"
                                        : "InvalidCertificateRef", refs == null ? "No errors found" : refs),
                        Condition.of("Programmed", l.server() != null ? null : "Invalid", l.server() != null
                                ? "No errors found" : unassigned != null ? unassigned : problem)),
                        GatewayApiRoutes.supportedKinds(l.listener())));
            }
            gatewayStatus.add(new GatewayStatus(kgw.namespace(), kgw.name(), List.of(
                    Condition.of("Accepted", null, "Resource accepted"),
                    Condition.of("Programmed", unassigned == null ? null : "AddressNotAssigned", unassigned == null
                            ? "Resource programmed, assigned to service(s) " + String.join(", ",
                                    GatewayApiGateways.serviceHosts(kgw, new ArrayList<>(), "")) : unassigned)),
                    listeners));
        }
        return new Result(gatewayStatus, routeStatus, List.of());
    }

    /** Why a listener's certificate does not resolve, or null. */
    private static String certificateProblem(KubernetesGateway kgw, KubernetesGateway.Listener l,
            Set<String> credentials, GatewayApiReferences references) {
        if (l.tls() == null || l.tls().certificateRefs().isEmpty()) {
            return null;
        }
        KubernetesGateway.SecretRef ref = l.tls().certificateRefs().get(0);
        String notPermitted = GatewayApiGateways.certificateNotPermitted(kgw, ref, references);
        if (notPermitted != null) {
            return "RefNotPermitted: " + notPermitted;
        }
        String ns = GatewayApiGateways.secretNamespace(kgw, ref);
        return credentials.contains(TlsCredential.kubernetesGateway(ns, ref.name())) ? null
                : "invalid certificate reference Secret " + ns + "/" + ref.name() + ": not found";
    }

    /** "REASON: message" for the first backend of the route that does not resolve, or null. */
    static String backendProblem(KubernetesHttpRoute route, Predicate<String> serviceExists,
            GatewayApiReferences references) {
        for (KubernetesHttpRoute.Rule rule : route.rules()) {
            List<KubernetesHttpRoute.BackendRef> refs = new ArrayList<>(rule.backendRefs());
            rule.filters().stream().filter(f -> f.mirror() != null).forEach(f -> refs.add(f.mirror().backend()));
            for (KubernetesHttpRoute.BackendRef b : refs) {
                String ns = b.namespace() == null ? route.namespace() : b.namespace();
                if (!b.service()) {
                    return "InvalidKind: referencing unsupported backendRef: group \"" + b.group() + "\" kind \""
                            + b.kind() + "\"";
                }
                if (!references.allows(references.routeKind(), route.namespace(),
                        GatewayApiReferences.GroupKind.SERVICE, ns, b.name())) {
                    return "RefNotPermitted: backendRef " + b.name() + "/" + ns + " not accessible to a route in"
                            + " namespace \"" + route.namespace() + "\" (missing a ReferenceGrant?)";
                }
                String host = b.name() + "." + ns + "." + Hosts.DOMAIN_SUFFIX;
                if (!serviceExists.test(host)) {
                    return "BackendNotFound: backend(" + host + ") not found";
                }
            }
        }
        return null;
    }
}
