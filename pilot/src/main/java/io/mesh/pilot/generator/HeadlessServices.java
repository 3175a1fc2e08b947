package io.mesh.pilot.generator;

import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Kubernetes headless Services ({@code clusterIP: None}, e.g. a StatefulSet's) as istiod serves them to sidecars
 * (Istio's Passthrough resolution): the service's clusters are ORIGINAL_DST (the connection goes where the app sent
 * it, a pod IP), each TCP port gets a listener per endpoint ({@code PODIP_PORT}) instead of one per VIP, and HTTP
 * ports are routed by the port's {@code 0.0.0.0_PORT} listener, where the virtual host also takes every name under the
 * service's ({@code *.db.ns.svc.cluster.local}: {@code db-0.db.ns.svc.cluster.local}). Routers and proxyless gRPC
 * clients keep EDS clusters (istiod too: a gateway has no original destination). Auto mTLS is decided per cluster as
 * for any other: all endpoints of the port carry {@code security.istio.io/tlsMode: istio}, else plaintext (istiod
 * infers the same for Passthrough services; it has no per-endpoint choice on ORIGINAL_DST clusters either).
 */
public final class HeadlessServices {
    private HeadlessServices() {
    }

    /** Whether this proxy's cluster for the service is ORIGINAL_DST: a sidecar's, for a headless Service. */
    static boolean originalDst(ServiceModel s, ProxyInfo proxy) {
        return s.headless() && proxy.type() == ProxyInfo.Type.SIDECAR;
    }

    /**
     * The addresses that get a listener for this port, sorted: the endpoints serving it whose address is an IP,
     * except the proxy's own (an app calling its own pod IP is not captured as outbound; istiod skips it too).
     */
    static List<String> listenerAddresses(ServiceModel s, int port, MeshSnapshot snapshot, String proxyIp) {
        Set<String> out = new TreeSet<>();
        for (Endpoint e : snapshot.endpointsOf(s.hostname())) {
            if (e.ports().containsKey(port) && ip(e.address()) && !e.address().equals(proxyIp)) {
                out.add(e.address());
            }
        }
        return new ArrayList<>(out);
    }

    /**
     * Per headless service, its endpoints' addresses and ports: what its sidecar listeners depend on. When an
     * endpoints-only update changes it, LDS must be pushed, not only EDS.
     */
    static Map<String, Set<String>> listenerInputs(MeshSnapshot snapshot) {
        Map<String, Set<String>> out = new TreeMap<>();
        for (ServiceModel s : snapshot.services().values()) {
            if (s.headless()) {
                Set<String> in = new TreeSet<>();
                for (Endpoint e : snapshot.endpointsOf(s.hostname())) {
                    e.ports().keySet().forEach(p -> in.add(e.address() + "_" + p));
                }
                out.put(s.hostname(), in);
            }
        }
        return out;
    }

    /** Whether an endpoints-only change between these snapshots changes a headless service's listeners. */
    public static boolean listenersChanged(MeshSnapshot previous, MeshSnapshot next) {
        return !listenerInputs(previous).equals(listenerInputs(next));
    }

    /** The wildcard form of each domain ({@code *.db.ns.svc.cluster.local}), as istiod adds them for headless Services. */
    static Set<String> withPodNames(Set<String> domains) {
        Set<String> out = new java.util.LinkedHashSet<>(domains);
        domains.forEach(d -> out.add("*." + d));
        return out;
    }

    /** A literal IPv4 or IPv6 address, not a hostname. */
    private static boolean ip(String a) {
        return !a.isEmpty() && (a.indexOf(':') >= 0 || a.chars().allMatch(c -> c == '.' || Character.isDigit(c)));
    }
}
