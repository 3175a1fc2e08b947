package io.mesh.pilot.model;

import io.mesh.config.Hosts;
import io.mesh.config.KubernetesHttpRoute;
import io.mesh.config.ServiceEntry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A route's mesh parents (GAMMA; istiod's meshParentKey, which takes HTTPRoutes, GRPCRoutes, TCPRoutes and TLSRoutes
 * alike): a parentRef to a Service (group "" or "core") stands for the Service's host
 * {@code NAME.NS.svc.cluster.local}, one to an Istio ServiceEntry (group networking.istio.io) for each of the
 * ServiceEntry's {@code hosts} as written (istiod's route collections take {@code ses.Spec.Hosts}). A parent that does not exist is not accepted, with
 * istiod's message ({@code parent service: "NAME" not found}, {@code parent service entry: "NAME" not found}). Pure.
 */
final class GatewayApiMeshParents {
    /** A mesh parent: the namespace it is in and its hosts, or {@code problem} (NoMatchingParent) when it is none. */
    record Parent(String namespace, List<String> hosts, String problem) {
        boolean found() {
            return problem == null;
        }
    }

    private final Predicate<String> serviceExists;
    private final Map<String, ServiceEntry> entries = new HashMap<>();

    /**
     * @param serviceExists whether a FQDN is a known service
     * @param serviceEntries the ServiceEntries a parentRef may name
     */
    GatewayApiMeshParents(Predicate<String> serviceExists, List<ServiceEntry> serviceEntries) {
        this.serviceExists = serviceExists;
        serviceEntries.forEach(se -> entries.put(se.namespace() + "/" + se.name(), se));
    }

    /** The parent a mesh parentRef ({@link KubernetesHttpRoute.ParentRef#mesh}) of {@code route} names. */
    Parent resolve(KubernetesHttpRoute route, KubernetesHttpRoute.ParentRef ref) {
        String ns = ref.namespace() == null ? route.namespace() : ref.namespace();
        if (ref.serviceEntry()) {
            ServiceEntry se = entries.get(ns + "/" + ref.name());
            return se == null ? new Parent(ns, List.of(), "parent service entry: \"" + ref.name() + "\" not found")
                    : new Parent(ns, se.hosts(), null);
        }
        String host = ref.name() + "." + ns + "." + Hosts.DOMAIN_SUFFIX;
        return serviceExists.test(host) ? new Parent(ns, List.of(host), null)
                : new Parent(ns, List.of(), "parent service: \"" + ref.name() + "\" not found");
    }

    /** The snapshot's warning for a parent that is none: the route, istiod's message and the namespace. */
    static String warning(String who, Parent parent) {
        return who + ": " + parent.problem() + " in namespace " + parent.namespace() + " (NoMatchingParent)";
    }
}
