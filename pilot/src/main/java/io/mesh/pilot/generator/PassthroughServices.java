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
 * Services with Istio's Passthrough resolution, as istiod serves them to sidecars: Kubernetes headless Services
 * ({@code clusterIP: None}, e.g. a StatefulSet's) and ServiceEntries with {@code resolution: NONE} ("assume that
 * incoming connections have already been resolved"). The service's clusters are ORIGINAL_DST (the connection goes where
 * the app sent it; at a ServiceEntry port's {@code targetPort}, when it has one). A non-HTTP port without a VIP or CIDR
 * block gets a listener per endpoint ({@code PODIP_PORT}) instead of one per VIP; a ServiceEntry's port with no
 * endpoints and no workload selector takes the whole port instead (a match-all chain on {@code 0.0.0.0_PORT}), as
 * istiod does. HTTP ports are routed by the port's {@code 0.0.0.0_PORT} listener;
 * for a headless Service the virtual host also takes every name under the service's ({@code *.db.ns.svc.cluster.local}:
 * {@code db-0.db.ns.svc.cluster.local}), a ServiceEntry's keeps its hosts (istiod adds those wildcards for Kubernetes
 * only). Routers and proxyless gRPC clients keep EDS clusters (istiod too: a gateway has no original destination).
 * Auto mTLS is decided per cluster as for any other: never for MESH_EXTERNAL, else all endpoints of the port carry
 * {@code security.istio.io/tlsMode: istio} (none: plaintext), which is also istiod's rule for Passthrough services (it
 * has no per-endpoint choice on ORIGINAL_DST clusters either).
 */
public final class PassthroughServices {
    private PassthroughServices() {
    }

    /** Whether this proxy's cluster for the service is ORIGINAL_DST: a sidecar's, for a Passthrough service. */
    static boolean originalDst(ServiceModel s, ProxyInfo proxy) {
        return s.passthrough() && proxy.type() == ProxyInfo.Type.SIDECAR;
    }

    /** How a sidecar tells a non-HTTP port's connections are for a service (istiod's outbound listener binds). */
    enum Capture {
        /** By its VIPs and CIDR blocks (or, for a TLS port without either, by SNI), as for any service. */
        ADDRESSES,
        /** By its endpoints' IPs: a listener each ({@link #listenerAddresses}); none serving the port: no listener. */
        ENDPOINTS,
        /**
         * Every connection to the port: a ServiceEntry with resolution NONE, no address, no endpoints and no workload
         * selector.
         */
        WHOLE_PORT
    }

    /**
     * Istio's rule for a Passthrough service's port without a VIP or CIDR block (its address is 0.0.0.0): a listener
     * per endpoint serving the port; a ServiceEntry with no such endpoint takes the whole port instead. Except, as in
     * istiod, a Kubernetes Service without endpoints (traffic could not work, and a wildcard would collide on
     * scale-down) and a ServiceEntry with a workload selector (its workloads may not be selected yet, or scaled down):
     * those get nothing, so their connections go on as unknown destinations.
     */
    static Capture capture(ServiceModel s, int port, MeshSnapshot snapshot) {
        if (!s.passthrough() || !s.addresses().isEmpty() || !s.cidrs().isEmpty()) {
            return Capture.ADDRESSES;
        }
        boolean endpoints = snapshot.endpointsOf(s.hostname()).stream().anyMatch(e -> e.ports().containsKey(port));
        return endpoints || s.headless() || s.selectsWorkloads() ? Capture.ENDPOINTS : Capture.WHOLE_PORT;
    }

    /**
     * The port a sidecar connects to at the original destination of a {@code resolution: NONE} ServiceEntry's port,
     * instead of the one the app used: the port's {@code targetPort} (istiod's PassthroughTargetPorts, sent as the
     * ORIGINAL_DST cluster's {@code upstream_port_override}). Istiod sets it whenever targetPort is set, even to the
     * port itself (a no-op), and so does this. Null for any other service or port (Kubernetes headless Services' pods
     * are dialled at the port the app used, as in istiod), and for a targetPort that is no port.
     */
    static Integer targetPort(ServiceModel s, int port) {
        ServiceModel.Port p = s.port(port);
        if (!s.passthrough() || !s.serviceEntry() || p == null || p.targetPort() == null) {
            return null;
        }
        int target = p.targetPort();
        return target >= 1 && target <= 65535 ? target : null;
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
     * Per Passthrough service, its endpoints' addresses and ports: what its sidecar listeners depend on. When an
     * endpoints-only update changes it, LDS must be pushed, not only EDS.
     */
    static Map<String, Set<String>> listenerInputs(MeshSnapshot snapshot) {
        Map<String, Set<String>> out = new TreeMap<>();
        for (ServiceModel s : snapshot.services().values()) {
            if (s.passthrough()) {
                Set<String> in = new TreeSet<>();
                for (Endpoint e : snapshot.endpointsOf(s.hostname())) {
                    e.ports().keySet().forEach(p -> in.add(e.address() + "_" + p));
                }
                out.put(s.hostname(), in);
            }
        }
        return out;
    }

    /** Whether an endpoints-only change between these snapshots changes a Passthrough service's listeners. */
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
