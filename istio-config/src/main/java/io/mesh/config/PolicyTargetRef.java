package io.mesh.config;

import java.util.ArrayList;
import java.util.List;

/**
 * One of a policy's {@code targetRefs} (Istio's PolicyTargetReference, also the deprecated single {@code targetRef}): the
 * resource the policy attaches to instead of the workloads a {@code selector} picks. Shared by AuthorizationPolicy,
 * RequestAuthentication and Telemetry. Istio validates a reference as its validatePolicyTargetReference: a name, no
 * namespace (cross-namespace references are not supported), and one of four kinds. Only a Kubernetes Gateway
 * ({@code gateway.networking.k8s.io} {@code Gateway}) can match here: the others attach to waypoint proxies (ambient),
 * which this mesh has none of, so a policy naming only them applies to no proxy, as on an Istio mesh without waypoints.
 */
public record PolicyTargetRef(String group, String kind, String name) {

    public static final String GATEWAY_API_GROUP = "gateway.networking.k8s.io";

    /** The pod label that names the Kubernetes Gateway a gateway pod serves, as istiod's deployment sets it. */
    public static final String GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

    /** Whether this names a Kubernetes Gateway (the only kind a non-waypoint proxy can be attached by). */
    public boolean kubernetesGateway() {
        return GATEWAY_API_GROUP.equals(group) && "Gateway".equals(kind);
    }

    /**
     * The {@code targetRef} and {@code targetRefs} of {@code r} (a policy's spec), validated; {@code targetRefs} when both
     * are there. An error names the field when more than one of {@code selector}, {@code targetRef} and {@code targetRefs}
     * is set, as Istio's validateOneOfSelectorType.
     */
    static List<PolicyTargetRef> parse(SpecReader r, Problems p) {
        int set = (r.has("selector") ? 1 : 0) + (r.has("targetRef") ? 1 : 0) + (r.list("targetRefs").isEmpty() ? 0 : 1);
        if (set > 1) {
            p.error(r.path(), "only one of targetRefs or workloadSelector can be set");
        }
        List<PolicyTargetRef> refs = new ArrayList<>();
        for (SpecReader t : r.list("targetRefs")) {
            refs.add(reference(t, p));
        }
        SpecReader single = r.object("targetRef");
        if (single != null && refs.isEmpty()) {
            refs.add(reference(single, p));
        }
        List<PolicyTargetRef> valid = refs.stream().filter(java.util.Objects::nonNull).toList();
        if (!valid.isEmpty() && valid.stream().noneMatch(PolicyTargetRef::kubernetesGateway)) {
            p.warn(r.at(r.has("targetRefs") ? "targetRefs" : "targetRef"), "names only Services, ServiceEntries or"
                    + " GatewayClasses, which attach a policy to waypoint proxies (ambient); this mesh has none, so the"
                    + " policy applies to no proxy");
        }
        return valid;
    }

    private static PolicyTargetRef reference(SpecReader t, Problems p) {
        t.allow("group", "kind", "name", "namespace");
        String group = t.string("group") == null ? "" : t.string("group");
        String kind = t.string("kind") == null ? "" : t.string("kind");
        String name = t.string("name");
        boolean ok = true;
        if (name == null || name.isEmpty()) {
            p.error(t.at("name"), "targetRef name must be set");
            ok = false;
        }
        if (t.string("namespace") != null && !t.string("namespace").isEmpty()) {
            p.error(t.at("namespace"), "targetRef namespace must not be set; cross namespace referencing is not supported");
            ok = false;
        }
        if (!allowed(group, kind)) {
            p.error(t.at("kind"), "targetRef must be to one of [Service (group \"\"), ServiceEntry (networking.istio.io),"
                    + " Gateway (" + GATEWAY_API_GROUP + "), GatewayClass (" + GATEWAY_API_GROUP + ")] but was "
                    + group + "/" + kind);
            ok = false;
        }
        return ok ? new PolicyTargetRef(group, kind, name) : null;
    }

    private static boolean allowed(String group, String kind) {
        return switch (kind) {
            case "Service" -> group.isEmpty() || group.equals("core");
            case "ServiceEntry" -> group.equals("networking.istio.io");
            case "Gateway", "GatewayClass" -> group.equals(GATEWAY_API_GROUP);
            default -> false;
        };
    }
}
