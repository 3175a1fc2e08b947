package io.mesh.pilot.model;

import io.mesh.config.Kind;
import io.mesh.config.KubernetesReferenceGrant;
import java.util.List;

/**
 * Which cross-namespace references of the Kubernetes Gateway API are permitted, as istiod decides them (its
 * {@code ReferenceGrants}, {@code pilot/pkg/config/kube/gateway}): a reference within a namespace always is; one to
 * another namespace is when a ReferenceGrant in the target's namespace lists the referring object's group, kind and
 * namespace in {@code from} and the target's group and kind in {@code to}, with the target's name or no name. Every
 * reference check of the Gateway API translation (a route's backendRefs, a Gateway's certificateRefs) asks
 * {@link #allows}. Immutable.
 */
public final class GatewayApiReferences {
    /** A kind of object: its API group ("" for the core group) and kind. */
    public record GroupKind(String group, String kind) {
        public static final GroupKind GATEWAY = new GroupKind(Kind.GATEWAY_API, "Gateway");
        public static final GroupKind HTTP_ROUTE = new GroupKind(Kind.GATEWAY_API, "HTTPRoute");
        public static final GroupKind SERVICE = new GroupKind("", "Service");
        public static final GroupKind SECRET = new GroupKind("", "Secret");
    }

    public static final GatewayApiReferences NONE = new GatewayApiReferences(List.of());
    /**
     * Every reference permitted: a mesh (GAMMA) route's backendRefs, for which istiod reads no ReferenceGrant (its
     * conversion's enforceRefGrant is false for mesh parents).
     */
    public static final GatewayApiReferences ANY = new GatewayApiReferences(List.of(), GroupKind.HTTP_ROUTE, true);

    private final List<KubernetesReferenceGrant> grants;
    private final GroupKind routeKind;
    private final boolean any;

    public GatewayApiReferences(List<KubernetesReferenceGrant> grants) {
        this(grants, GroupKind.HTTP_ROUTE, false);
    }

    private GatewayApiReferences(List<KubernetesReferenceGrant> grants, GroupKind routeKind, boolean any) {
        this.grants = List.copyOf(grants);
        this.routeKind = routeKind;
        this.any = any;
    }

    /**
     * The same grants, for the backendRefs of a route of {@code kind} (GRPCRoute, TLSRoute, TCPRoute): a grant must
     * name that kind in {@code from}, as istiod checks it.
     */
    public GatewayApiReferences forRouteKind(String kind) {
        return new GatewayApiReferences(grants, new GroupKind(Kind.GATEWAY_API, kind), any);
    }

    /** The kind of route whose backendRefs are checked: HTTPRoute unless {@link #forRouteKind} says otherwise. */
    public GroupKind routeKind() {
        return routeKind;
    }

    /**
     * Whether an object of kind {@code from} in {@code fromNamespace} may refer to the object of kind {@code to} named
     * {@code toName} in {@code toNamespace}.
     */
    public boolean allows(GroupKind from, String fromNamespace, GroupKind to, String toNamespace, String toName) {
        if (any || fromNamespace.equals(toNamespace)) {
            return true;
        }
        for (KubernetesReferenceGrant g : grants) {
            if (g.namespace().equals(toNamespace)
                    && g.from().stream().anyMatch(f -> f.group().equals(from.group()) && f.kind().equals(from.kind())
                            && f.namespace().equals(fromNamespace))
                    && g.to().stream().anyMatch(t -> t.group().equals(to.group()) && t.kind().equals(to.kind())
                            && (t.name() == null || t.name().equals(toName)))) {
                return true;
            }
        }
        return false;
    }
}
